/**
 * The event log on the /api routes (docs/events.md): `/api[/{user_id}]/events` and
 * `/api[/{user_id}]/tasks/{id}/events`, in snake_case, a task named by its number, as every /api
 * route. The same reads as GET /tasks/events (src/events/service.ts).
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import * as z from 'zod'
import type { AppEnv } from '../env'
import { EVENT_TYPES, ORIGINS, type TaskEvent } from '../events/model'
import { type EventPage, eventLog } from '../events/service'
import { methodNotAllowed } from '../problem'
import { rateLimit } from '../ratelimit'
import { json } from '../respond'
import { d1Session } from '../session'
import { missProblem } from '../tasks/refusals'
import { MAX_PAGE_SIZE } from '../tasks/requests'
import { apiTask, toApiTask } from './task'
import { anyPath, apiQuery, pathUser, taskNumber } from './validate'

const DEFAULT_EVENTS = 50

const whole = (max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, `must be a whole number from 0 to ${max}`)
    .transform(Number)
    .refine((n) => n <= max, `must be a whole number from 0 to ${max}`)
    .optional()

export const apiEventsQuery = z.object({
  after: whole(Number.MAX_SAFE_INTEGER).describe('Events after this `seq`; a page’s `next`. Default 0.'),
  limit: whole(MAX_PAGE_SIZE)
    .refine((n) => n !== 0, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
    .describe(`Events per page, 1 to ${MAX_PAGE_SIZE}; default ${DEFAULT_EVENTS}.`),
})

export const apiEvent = z
  .strictObject({
    id: z.string().meta({ format: 'uuid', description: 'Unique and stable: the `webhook-id` of its delivery.' }),
    seq: z.int().min(1),
    type: z.enum(EVENT_TYPES),
    task_id: apiTask.shape.id,
    task: apiTask.meta({ description: 'The task after the change; for task.deleted, as it was.' }),
    door: z.enum(ORIGINS),
    client_id: z.string().nullable(),
    created_at: z.string().meta({ format: 'date-time' }),
  })
  .meta({ description: 'One change of one task; `task_id` is its number.' })

export const apiEventPage = z.strictObject({
  events: z.array(apiEvent),
  next: z.int().min(0).meta({ description: 'The `after` of the next request.' }),
  has_more: z.boolean(),
})

const toApiEvent = (event: TaskEvent, userId: string): z.output<typeof apiEvent> => ({
  id: event.id,
  seq: event.seq,
  type: event.type,
  task_id: event.taskNumber,
  task: toApiTask(event.task, userId),
  door: event.door,
  client_id: event.clientId,
  created_at: event.createdAt,
})

const answer = (c: Context<AppEnv>, page: EventPage) =>
  json(
    c,
    {
      events: page.items.map((event) => toApiEvent(event, c.get('user').id)),
      next: page.next,
      has_more: page.hasMore,
    },
    200,
  )

/** The two routes under one prefix; `owner` checks the prefix's `{user_id}`, if it has one. */
const eventsApi = (owner: MiddlewareHandler<AppEnv>) =>
  new Hono<AppEnv>()
    .get('/events', rateLimit, owner, d1Session, apiQuery(apiEventsQuery), async (c) => {
      const { after = 0, limit = DEFAULT_EVENTS } = c.req.valid('query')
      return answer(c, await eventLog(c, 'api').page(after, limit))
    })
    .get('/tasks/:id/events', rateLimit, owner, d1Session, taskNumber, apiQuery(apiEventsQuery), async (c) => {
      const { after = 0, limit = DEFAULT_EVENTS } = c.req.valid('query')
      const history = await eventLog(c, 'api').ofTask(c.req.valid('param'), after, limit)
      if (history.kind !== 'ok') throw missProblem(history)
      return answer(c, history.page)
    })
    .all('/events', rateLimit, () => {
      throw methodNotAllowed(['GET', 'HEAD'])
    })
    .all('/tasks/:id/events', rateLimit, () => {
      throw methodNotAllowed(['GET', 'HEAD'])
    })

export const compatEventRoutes = new Hono<AppEnv>()
  .route('/', eventsApi(anyPath))
  .route('/:user_id', eventsApi(pathUser))
