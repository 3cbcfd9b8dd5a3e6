/** /me: who the token names, and that user's whole account, erased or exported. */
import { Hono } from 'hono'
import type { AppEnv } from '../env'
import { userObject } from '../live/object'
import { methodNotAllowed } from '../problem'
import { rateLimit, rateLimitSessionOnly } from '../ratelimit'
import { empty, json, respond } from '../respond'
import { d1Session } from '../session'
import { noQuery } from '../tasks/requests'
import { queryParams } from '../validation'
import { exportStream } from './export'
import { eraseUser } from './repo'

// rateLimit per route, not .use(): that would also run for /me/push-subscriptions (src/push/), twice.
export const accountRoutes = new Hono<AppEnv>()
  .get('/', rateLimit, queryParams(noQuery), (c) => {
    const { id, email, name } = c.get('user')
    return json(c, { sub: id, email, name }, 200)
  })

  // Erases everything stored for the caller. Idempotent: an account with nothing stored is erased already.
  .delete('/', rateLimitSessionOnly, d1Session, queryParams(noQuery), async (c) => {
    const userId = c.get('user').id
    await eraseUser(c.get('db'), userId)
    // Then its Durable Object: live sockets closed, tickets forgotten. Should this fail, the 500 asks
    // for a retry, and erasing again is harmless.
    await userObject(c.env, userId).erase()
    return empty(c, 204)
  })

  .all('/', rateLimit, () => {
    throw methodNotAllowed(['GET', 'HEAD', 'DELETE'])
  })

  // The whole account in one response: what no scope grants, like erasing it.
  .get('/export', rateLimitSessionOnly, d1Session, queryParams(noQuery), (c) =>
    respond(
      c,
      exportStream(c.get('db'), c.get('user'), new Date().toISOString()),
      200,
      { 'Content-Disposition': 'attachment; filename="tasks-export.json"' },
      'application/json',
    ),
  )

  .all('/export', rateLimit, () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })
