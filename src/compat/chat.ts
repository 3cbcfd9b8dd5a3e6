/**
 * The assistant on /api, as the FastAPI backend's chat contract has it: `POST /api/{user_id}/chat`
 * (and `/api/chat`) with `{conversation_id?, message}` answering `{conversation_id, response,
 * tool_calls}`, and the conversations in snake_case. Authentication, the limits, the D1 session and
 * the turn itself are the main API's (src/chat/).
 */
import { Hono, type MiddlewareHandler } from 'hono'
import { conversationDetail, conversationId, conversationPage, removeConversation } from '../chat/conversations'
import { apiChatInput, apiConversationListQuery } from '../chat/requests'
import { taskToolRunner } from '../chat/runner'
import { chatAccess, chatOn, chatTurn } from '../chat/turn'
import { apiWire } from '../chat/wire'
import type { AppEnv } from '../env'
import { methodNotAllowed } from '../problem'
import { rateLimit } from '../ratelimit'
import { json } from '../respond'
import { d1Session } from '../session'
import { limitBody } from '../tasks/routes'
import { anyPath, apiBody, apiQuery, ownerQuery, pathUser } from './validate'

/** The chat routes under one prefix; `owner` checks the prefix's `{user_id}`, if it has one. */
function chatApi(owner: MiddlewareHandler<AppEnv>) {
  return (
    new Hono<AppEnv>()
      // Authentication, the scopes and the limits first, then the path's user: a turn for another
      // user is refused before a body is read or a D1 statement runs.
      .post('/chat', chatAccess, owner, chatOn, limitBody, d1Session, ownerQuery, apiBody(apiChatInput), (c) => {
        const { conversation_id: number, message, time_zone: timeZone } = c.req.valid('json')
        return chatTurn(c, { number: number ?? undefined, message, timeZone }, apiWire, taskToolRunner(c))
      })
      .get('/conversations', rateLimit, owner, d1Session, apiQuery(apiConversationListQuery), async (c) =>
        json(c, await conversationPage(c, c.req.valid('query'), apiWire), 200),
      )
      .get('/conversations/:id', rateLimit, owner, d1Session, conversationId, ownerQuery, async (c) =>
        json(c, await conversationDetail(c, c.req.valid('param').number, apiWire), 200),
      )
      .delete('/conversations/:id', rateLimit, owner, d1Session, conversationId, ownerQuery, async (c) => {
        await removeConversation(c, c.req.valid('param').number)
        // A body, not a 204, as the task delete: some frontends call res.json() on every response.
        return json(c, { message: 'Conversation deleted' as const }, 200)
      })
      .all('/chat', rateLimit, () => {
        throw methodNotAllowed(['POST'])
      })
      .all('/conversations', rateLimit, () => {
        throw methodNotAllowed(['GET', 'HEAD'])
      })
      .all('/conversations/:id', rateLimit, () => {
        throw methodNotAllowed(['GET', 'HEAD', 'DELETE'])
      })
  )
}

export const compatChatRoutes = new Hono<AppEnv>().route('/', chatApi(anyPath)).route('/:user_id', chatApi(pathUser))
