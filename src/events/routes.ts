/**
 * GET /tasks/events (the user's event log) and GET /tasks/{id}/events (one task's history), mounted
 * under /tasks before the task routes, so that `events` is never taken for a task id. Each route has
 * its own middleware: a `.use()` here would also run for every task route.
 */
import { Hono } from 'hono'
import * as z from 'zod'
import type { AppEnv } from '../env'
import { methodNotAllowed } from '../problem'
import { rateLimit } from '../ratelimit'
import { json } from '../respond'
import { d1Session } from '../session'
import { missProblem } from '../tasks/refusals'
import { limit } from '../tasks/requests'
import { taskId } from '../tasks/routes'
import { queryParams } from '../validation'
import { eventLog } from './service'

/** A page of events: after the `seq` a previous page gave as `next` (0, the default: from the start). */
export const eventsQuery = z.strictObject({
  after: z
    .string()
    .regex(/^\d{1,16}$/, 'must be a whole number: a `next` or `seq` from an earlier page')
    .transform(Number)
    .default(0)
    .describe('Events after this sequence number; a page’s `next`. Default 0: from the oldest kept.'),
  limit,
})

export const eventRoutes = new Hono<AppEnv>()
  .get('/events', rateLimit, d1Session, queryParams(eventsQuery), async (c) => {
    const { after, limit } = c.req.valid('query')
    return json(c, await eventLog(c, 'rest').page(after, limit), 200)
  })

  .get('/:id/events', rateLimit, d1Session, taskId, queryParams(eventsQuery), async (c) => {
    const { after, limit } = c.req.valid('query')
    const history = await eventLog(c, 'rest').ofTask(c.req.valid('param').id, after, limit)
    if (history.kind !== 'ok') throw missProblem(history)
    return json(c, history.page, 200)
  })

  .all('/events', rateLimit, () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })
  .all('/:id/events', rateLimit, () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })
