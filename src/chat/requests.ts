/**
 * What a client sends to chat, for both doors (the main API in camelCase, /api in snake_case), and
 * what it gets back, as zod schemas: the requests are validated by them, the responses described.
 */
import * as z from 'zod'
import { timeZoneSchema } from '../recurrence/rule'
import { CHAT_BOUNDS } from './bounds'
import { codePoints } from './stored'

/** The user's message: well-formed text of 1 to CHAT_BOUNDS.messageChars characters, not only blanks. */
export const messageText = z
  .string()
  .refine((s) => s.isWellFormed(), 'must be well-formed Unicode (no lone surrogates)')
  .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')
  .refine((s) => s.trim() !== '', 'must not be empty')
  .refine((s) => codePoints(s) <= CHAT_BOUNDS.messageChars, `must be at most ${CHAT_BOUNDS.messageChars} characters`)
  .meta({ minLength: 1, maxLength: CHAT_BOUNDS.messageChars, description: 'What the user says.' })

const conversationNumber = z
  .int()
  .min(1)
  .max(Number.MAX_SAFE_INTEGER)
  .nullish()
  .meta({ description: 'The conversation to continue; leave it out (or null) to start a new one.' })

const timeZone = timeZoneSchema
  .optional()
  .meta({ description: "The user's IANA time zone: the assistant reads the times they name in it. Default: UTC." })

export const chatInput = z.strictObject({
  conversationId: conversationNumber,
  message: messageText,
  timeZone,
})

/** /api: unknown fields are dropped, as FastAPI's models dropped them. */
export const apiChatInput = z.object({
  conversation_id: conversationNumber,
  message: messageText,
  time_zone: timeZone,
})

export interface TurnInput {
  number: number | undefined
  message: string
  timeZone: string | undefined
}

const toolCall = z.strictObject({
  name: z.string(),
  arguments: z.unknown().meta({ description: 'The arguments the model passed.' }),
  result: z.unknown().meta({ description: 'The tool\'s result, or `{ "error": ... }` when it was refused.' }),
})

export const chatReply = z.strictObject({
  conversationId: z.int().min(1),
  response: z.string().meta({ description: "The assistant's answer." }),
  toolCalls: z.array(toolCall).meta({ description: 'The tools the assistant ran for this answer, in order.' }),
})

export const apiChatReply = z.strictObject({
  conversation_id: z.int().min(1),
  response: z.string(),
  tool_calls: z.array(toolCall),
})

const DEFAULT_PAGE = 20
const MAX_PAGE = 100

/** The list's cursor is the number to continue below: opaque to clients, checked as a number. */
const listQuery = <T extends z.ZodRawShape>(extra: T) =>
  z.strictObject({
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
    cursor: z
      .string()
      .regex(/^[1-9]\d{0,15}$/, 'must be a cursor from the previous page')
      .transform(Number)
      .optional()
      .meta({ description: "The previous page's next cursor: the page after it." }),
    ...extra,
  })

export const conversationListQuery = listQuery({})
/** /api: a `user_id` naming the caller is accepted (and checked by apiQuery). */
export const apiConversationListQuery = z.object({
  limit: conversationListQuery.shape.limit,
  cursor: conversationListQuery.shape.cursor,
})

const id = z
  .int()
  .min(1)
  .meta({ description: 'Your 1, 2, 3... in creation order: the conversation id to continue it.' })
const title = z.string().meta({ description: 'The start of its first message.' })
const count = z.int().min(0).meta({ description: 'How many messages it holds.' })
const instant = z.string().meta({ format: 'date-time' })

export const conversationSummary = z.strictObject({
  id,
  title,
  messageCount: count,
  createdAt: instant,
  updatedAt: instant,
})

export const conversationPage = z.strictObject({
  items: z.array(conversationSummary).meta({ description: 'Newest first.' }),
  nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last.' }),
})

export const message = z.strictObject({
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  toolCalls: z.array(toolCall),
  createdAt: instant,
})

export const conversationDetail = z.strictObject({
  ...conversationSummary.shape,
  messages: z.array(message).meta({ description: 'Its messages, oldest first.' }),
})

export const apiConversationSummary = z.strictObject({
  id,
  title,
  message_count: count,
  created_at: instant,
  updated_at: instant,
})

export const apiConversationPage = z.strictObject({
  items: z.array(apiConversationSummary).meta({ description: 'Newest first.' }),
  next_cursor: z.string().nullable(),
})

export const apiMessage = z.strictObject({
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  tool_calls: z.array(toolCall),
  created_at: instant,
})

export const apiConversationDetail = z.strictObject({
  ...apiConversationSummary.shape,
  messages: z.array(apiMessage).meta({ description: 'Its messages, oldest first.' }),
})

export const apiConversationDeleted = z.strictObject({ message: z.literal('Conversation deleted') })
