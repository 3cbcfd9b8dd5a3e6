/** /me: who the token names, and that user's whole account, erased or exported. */
import { Hono } from 'hono'
import type { AppEnv } from '../env'
import { methodNotAllowed } from '../problem'
import { rateLimit } from '../ratelimit'
import { d1Session } from '../session'
import { noQuery } from '../tasks/requests'
import { queryParams } from '../validation'
import { exportStream } from './export'
import { eraseUser } from './repo'

export const accountRoutes = new Hono<AppEnv>()
  .use(rateLimit)

  .get('/', queryParams(noQuery), (c) => {
    const { id, email, name } = c.var.user
    return c.json({ sub: id, email, name }, 200)
  })

  // Erases everything stored for the caller. Idempotent: an account with nothing stored is erased already.
  .delete('/', d1Session, queryParams(noQuery), async (c) => {
    await eraseUser(c.var.db, c.var.user.id)
    return c.body(null, 204)
  })

  .all('/', () => {
    throw methodNotAllowed(['GET', 'HEAD', 'DELETE'])
  })

  .get('/export', d1Session, queryParams(noQuery), (c) =>
    c.body(exportStream(c.var.db, c.var.user, new Date().toISOString()), 200, {
      'Content-Type': 'application/json',
      'Content-Disposition': 'attachment; filename="tasks-export.json"',
    }),
  )

  .all('/export', () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })
