/** /chat and /conversations: the assistant on the main API, in camelCase. Every route requires a user. */
import { Hono, type TypedResponse } from 'hono'
import type * as z from 'zod'
import type { AppEnv } from '../env'
import { methodNotAllowed } from '../problem'
import { rateLimit } from '../ratelimit'
import { empty, json } from '../respond'
import { d1Session } from '../session'
import { noQuery } from '../tasks/requests'
import { limitBody } from '../tasks/routes'
import { jsonBody, queryParams } from '../validation'
import { conversationDetail, conversationId, conversationPage, removeConversation } from './conversations'
import {
  chatInput,
  type chatReply,
  conversationListQuery,
  type conversationDetail as detailSchema,
  type conversationPage as pageSchema,
} from './requests'
import { taskToolRunner } from './runner'
import { chatAccess, chatOn, chatTurn } from './turn'
import { mainWire } from './wire'

// The wire's objects, typed as the schemas describe them, for hono/client.
type Typed<T extends z.ZodType> = Response & TypedResponse<z.output<T>, 200, 'json'>

export const chatRoutes = new Hono<AppEnv>()
  // Authentication, the scopes and the limits first; nothing is read or stored for a refused turn.
  .post('/', chatAccess, chatOn, limitBody, d1Session, queryParams(noQuery), jsonBody(chatInput), async (c) => {
    const { conversationId: number, message, timeZone } = c.req.valid('json')
    const input = { number: number ?? undefined, message, timeZone }
    return (await chatTurn(c, input, mainWire, taskToolRunner(c))) as Typed<typeof chatReply>
  })
  .all('/', rateLimit, () => {
    throw methodNotAllowed(['POST'])
  })

// rateLimit per route: each checks the method's scope (tasks:read to read, tasks:write to delete).
export const conversationRoutes = new Hono<AppEnv>()
  .get('/', rateLimit, d1Session, queryParams(conversationListQuery), async (c) => {
    const page = await conversationPage(c, c.req.valid('query'), mainWire)
    return json(c, page, 200) as Typed<typeof pageSchema>
  })
  .get('/:id', rateLimit, d1Session, conversationId, queryParams(noQuery), async (c) => {
    const detail = await conversationDetail(c, c.req.valid('param').number, mainWire)
    return json(c, detail, 200) as Typed<typeof detailSchema>
  })
  .delete('/:id', rateLimit, d1Session, conversationId, queryParams(noQuery), async (c) => {
    await removeConversation(c, c.req.valid('param').number)
    return empty(c, 204)
  })
  .all('/', rateLimit, () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })
  .all('/:id', rateLimit, () => {
    throw methodNotAllowed(['GET', 'HEAD', 'DELETE'])
  })
