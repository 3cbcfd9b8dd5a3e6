/**
 * Chat's entries in the OpenAPI document (src/openapi/operations.ts): the main API's under the Chat
 * tag, and the /api twins, each with and without `{user_id}`, under the FastAPI one.
 */
import type * as z from 'zod'
import { COMPAT_TAG } from '../compat/operations'
import type { OperationSpec } from '../openapi/operations'
import type { ProblemSlug } from '../problem'
import { CHAT_BOUNDS } from './bounds'
import {
  apiChatReply,
  apiConversationDeleted,
  apiConversationDetail,
  apiConversationPage,
  chatReply,
  conversationDetail,
  conversationPage,
} from './requests'

export const CHAT_TAG = 'Chat'

export const CHAT_TAG_INFO = {
  name: CHAT_TAG,
  description:
    "An assistant that manages your tasks in plain language, with the MCP server's five tools, through any OpenAI-compatible model the server is configured with. See docs/chat.md.",
}

const TURN_PROBLEMS: readonly ProblemSlug[] = [
  'not-found',
  'conversation-limit',
  'conversation-full',
  'model-failed',
  'model-busy',
  'model-timeout',
]

const turn = (reply: z.ZodType, names: { id: string; calls: string }): Omit<OperationSpec, 'operationId' | 'tag'> => ({
  summary: 'Say something to the assistant',
  description:
    `Without \`${names.id}\`, starts a new conversation. The assistant may run the task tools (add_task, list_tasks, ` +
    `complete_task, update_task, delete_task) for you, on your tasks only; \`${names.calls}\` says what it ran. ` +
    `Your message is stored before the model is called and the answer after, with the tool calls, even when the model fails: ` +
    `a 502, 503 (model-busy) or 504 still carries \`${names.id}\` and \`${names.calls}\`. ` +
    `With \`Accept: text/event-stream\` the answer is server-sent events: \`tool_call\` as each tool call finishes, ` +
    `\`delta\` ({"text"}) for each piece of the answer, then \`done\` with this JSON, or \`error\` with the problem. ` +
    `At most ${CHAT_BOUNDS.messageChars} characters a message; an OAuth access token needs tasks:read and tasks:write.`,
  success: { status: 200, description: "The assistant's answer.", schema: reply },
  problems: TURN_PROBLEMS,
})

const list = (page: z.ZodType): Omit<OperationSpec, 'operationId' | 'tag'> => ({
  summary: 'List your conversations, newest first',
  success: { status: 200, description: 'One page of your conversations.', schema: page },
})

const detail = (schema: z.ZodType): Omit<OperationSpec, 'operationId' | 'tag'> => ({
  summary: 'Get one of your conversations with its messages',
  success: { status: 200, description: 'The conversation, its messages oldest first.', schema },
  problems: ['not-found'],
})

const MAIN: Record<string, OperationSpec> = {
  'POST /chat': {
    ...turn(chatReply, { id: 'conversationId', calls: 'toolCalls' }),
    operationId: 'chat',
    tag: CHAT_TAG,
  },
  'GET /conversations': { ...list(conversationPage), operationId: 'listConversations', tag: CHAT_TAG },
  'GET /conversations/{id}': { ...detail(conversationDetail), operationId: 'getConversation', tag: CHAT_TAG },
  'DELETE /conversations/{id}': {
    operationId: 'deleteConversation',
    tag: CHAT_TAG,
    summary: 'Delete a conversation and its messages',
    description: 'The tasks its tool calls made or changed stay as they are.',
    success: { status: 204, description: 'Deleted.' },
    problems: ['not-found'],
  },
}

type Entry = Omit<OperationSpec, 'tag' | 'operationId'> & { name: string }

const API: Record<string, Entry> = {
  'POST /chat': { ...turn(apiChatReply, { id: 'conversation_id', calls: 'tool_calls' }), name: 'Chat' },
  'GET /conversations': { ...list(apiConversationPage), name: 'ListConversations' },
  'GET /conversations/{id}': { ...detail(apiConversationDetail), name: 'GetConversation' },
  'DELETE /conversations/{id}': {
    name: 'DeleteConversation',
    summary: 'Delete a conversation and its messages',
    description: 'The tasks its tool calls made or changed stay as they are.',
    success: { status: 200, description: 'Deleted.', schema: apiConversationDeleted },
    problems: ['not-found'],
  },
}

/** Keyed by `METHOD /path`, as OPERATIONS is. */
export const CHAT_OPERATIONS: Record<string, OperationSpec> = {
  ...MAIN,
  ...Object.fromEntries(
    Object.entries(API).flatMap(([key, { name, ...spec }]) => {
      const [method, suffix] = key.split(' ') as [string, string]
      return [
        [`${method} /api${suffix}`, { ...spec, operationId: `api${name}`, tag: COMPAT_TAG }],
        [`${method} /api/{user_id}${suffix}`, { ...spec, operationId: `api${name}ByUser`, tag: COMPAT_TAG }],
      ]
    }),
  ),
}

/** Schemas worth a name in `components.schemas`. */
export const CHAT_SCHEMA_NAMES: [z.ZodType, string][] = [
  [chatReply, 'ChatReply'],
  [apiChatReply, 'ApiChatReply'],
  [conversationPage, 'ConversationPage'],
  [conversationDetail, 'Conversation'],
  [apiConversationPage, 'ApiConversationPage'],
  [apiConversationDetail, 'ApiConversation'],
]
