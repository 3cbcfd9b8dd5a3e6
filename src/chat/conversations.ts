/**
 * Reading and deleting conversations, for both doors: the path's conversation id, a page of them
 * newest first, one with its messages, and its deletion. Every read is the caller's own: another
 * user's conversation is a 404, as one that does not exist.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import * as z from 'zod'
import { conversationService } from '../conversations/service'
import type { AppEnv } from '../env'
import { annotate } from '../openapi/annotate'
import { notFound } from '../problem'
import type { Wire } from './wire'

// Ids as the schema stores them: positive integers within JavaScript's exact range.
const NUMBER = /^[1-9]\d{0,15}$/

const noSuchConversation = () => notFound('You have no conversation with this id.')

type IdParam = { param: { id: string } }
type Validated = { in: IdParam; out: { param: { number: number } } }

/** `{id}` in the path: a conversation number; anything else names none (404). */
export const conversationId = annotate(
  createMiddleware<AppEnv>(async (c, next) => {
    const id = c.req.param('id') ?? ''
    if (!NUMBER.test(id) || !Number.isSafeInteger(Number(id))) throw noSuchConversation()
    c.req.addValidatedData('param', { number: Number(id) })
    await next()
  }) as unknown as MiddlewareHandler<AppEnv, string, Validated>,
  {
    input: {
      target: 'param',
      schema: z.object({ id: z.int().min(1).meta({ description: 'The conversation id (its number).' }) }),
    },
    problems: ['not-found'],
  },
)

/** A page of the caller's conversations, newest first, and the cursor of the next (a number, opaque to clients). */
export async function conversationPage(
  c: Context<AppEnv>,
  { limit, cursor }: { limit: number; cursor?: number | undefined },
  wire: Wire,
) {
  // One more than the page: whether there is a next page, without a count.
  const rows = await conversationService(c).page(cursor, limit + 1)
  const page = rows.slice(0, limit)
  const next = rows.length > limit ? String(page.at(-1)!.number) : null
  return wire.page(page, next)
}

export async function conversationDetail(c: Context<AppEnv>, number: number, wire: Wire) {
  const found = await conversationService(c).get(number)
  if (!found) throw noSuchConversation()
  const { items, ...conversation } = found
  return wire.detail(conversation, items)
}

export async function removeConversation(c: Context<AppEnv>, number: number): Promise<void> {
  if (!(await conversationService(c).delete(number))) throw noSuchConversation()
}
