/** /tasks: thin handlers from validated input to the task service (service.ts). Every route requires a user. */
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import * as z from 'zod'
import type { AppEnv } from '../env'
import { REPLAYED_HEADER } from '../headers'
import { IDEMPOTENCY_HEADER, idempotencyHeaders, requestFingerprint } from '../idempotency/key'
import { annotate } from '../openapi/annotate'
import { invalidRequest, methodNotAllowed, notFound, payloadTooLarge, preconditionFailed } from '../problem'
import { rateLimit } from '../ratelimit'
import { empty, json } from '../respond'
import { d1Session } from '../session'
import { headerParams, jsonBody, queryParams } from '../validation'
import { encodeCursor } from './cursor'
import { isTaskId, TASK_ID } from './id'
import type { Task } from './model'
import { conditionalHeaders, etagOf, evaluateRead } from './preconditions'
import { problemOf, type Refusal } from './refusals'
import {
  bulkDeleteQuery,
  changesQuery,
  listQuery,
  noQuery,
  RECURRENCE_NEEDS_DUE_AT,
  taskInput,
  taskPatch,
} from './requests'
import { taskService } from './service'

const MAX_BODY_BYTES = 16 * 1024

/**
 * The path's task id, or a 404 (an id no task can have). Not hono's validator('param'), which
 * decodes every path parameter into a new object for the one read here; typed as it.
 */
const validateTaskId = createMiddleware<AppEnv>(async (c, next) => {
  const id = c.req.param('id') ?? ''
  if (!isTaskId(id)) throw notFound('No task has this id.')
  c.req.addValidatedData('param', { id })
  await next()
})
type TaskIdParam = { param: { id: string } }
export const taskId = annotate(
  validateTaskId as unknown as MiddlewareHandler<AppEnv, string, { in: TaskIdParam; out: TaskIdParam }>,
  {
    input: {
      target: 'param',
      schema: z.object({ id: z.string().regex(TASK_ID).meta({ format: 'uuid', description: 'The task id.' }) }),
    },
    problems: ['not-found'],
  },
)

/** The body limit of every route that takes a body (the /api routes' too). */
export const limitBody = annotate(
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw payloadTooLarge(MAX_BODY_BYTES)
    },
  }),
  { bodyProblems: ['payload-too-large'] },
)

const withEtag = (c: Context<AppEnv>, task: Task, status: 200 | 201 = 200, headers: Record<string, string> = {}) =>
  json(c, task, status, { ...headers, ETag: etagOf(task.version) })

const NEEDS_DUE_DATE = {
  dueAt: 'cannot be cleared while the task recurs; set recurrence to null as well',
  recurrence: RECURRENCE_NEEDS_DUE_AT,
}

const needsDueDate = (field: 'dueAt' | 'recurrence') =>
  invalidRequest(`Invalid body field(s): ${field}.`, [{ pointer: `#/${field}`, detail: NEEDS_DUE_DATE[field] }])

/** The task an operation left, or the problem that refused it. */
function done<T>(outcome: { kind: 'ok'; task: T } | Refusal): T {
  if (outcome.kind === 'ok') return outcome.task
  throw problemOf(outcome, needsDueDate)
}

const tasks = (c: Context<AppEnv>) => taskService(c, 'rest')

export const taskRoutes = new Hono<AppEnv>()
  // Authentication and rate limits first: nothing below runs, and no body is read, for a refused request.
  .use(rateLimit)
  .use(d1Session)
  .use(limitBody)

  .get('/', queryParams(listQuery), async (c) => {
    const { limit, sort, filter, listing, from } = c.req.valid('query')
    const page = await tasks(c).page({ limit, sort, filter, from, now: new Date().toISOString() })
    return json(c, { items: page.tasks, nextCursor: page.next && encodeCursor(page.next, listing) }, 200)
  })

  .post('/', queryParams(noQuery), headerParams(idempotencyHeaders), jsonBody(taskInput), async (c) => {
    const input = c.req.valid('json')
    const key = c.req.valid('header')[IDEMPOTENCY_HEADER]
    const outcome = await tasks(c).create(
      input,
      key === undefined ? undefined : { key, fingerprint: await requestFingerprint(input) },
    )
    const task = done(outcome)
    // A replay is the first response again, marked so a client can tell (as Stripe's API does).
    const replayed = outcome.kind === 'ok' && outcome.replayed ? { [REPLAYED_HEADER]: 'true' } : {}
    return withEtag(c, task, 201, { Location: `/tasks/${task.id}`, ...replayed })
  })

  // Deletes the caller's completed tasks (each leaves a tombstone for the sync feed).
  .delete('/', queryParams(bulkDeleteQuery), async (c) => {
    return json(c, { deleted: await tasks(c).deleteCompleted() }, 200)
  })

  .get('/changes', queryParams(changesQuery), async (c) => {
    const { since, limit } = c.req.valid('query')
    return json(c, await tasks(c).changes(since, limit), 200)
  })

  .get('/:id', taskId, queryParams(noQuery), conditionalHeaders, async (c) => {
    const task = done(await tasks(c).get(c.req.valid('param').id))
    const outcome = evaluateRead(c.req.valid('header'), task.version)
    if (outcome === 'failed') throw preconditionFailed()
    if (outcome === 'not-modified') return empty(c, 304, { ETag: etagOf(task.version) })
    return withEtag(c, task)
  })

  .put('/:id', taskId, queryParams(noQuery), conditionalHeaders, jsonBody(taskInput), async (c) => {
    const { id } = c.req.valid('param')
    return withEtag(c, done(await tasks(c).update(id, c.req.valid('json'), c.req.valid('header'))))
  })

  .patch('/:id', taskId, queryParams(noQuery), conditionalHeaders, jsonBody(taskPatch), async (c) => {
    const { id } = c.req.valid('param')
    return withEtag(c, done(await tasks(c).update(id, c.req.valid('json'), c.req.valid('header'))))
  })

  .delete('/:id', taskId, queryParams(noQuery), conditionalHeaders, async (c) => {
    done(await tasks(c).delete(c.req.valid('param').id, c.req.valid('header')))
    return empty(c, 204)
  })

  .all('/', () => {
    throw methodNotAllowed(['GET', 'HEAD', 'POST', 'DELETE'])
  })
  .all('/changes', () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })
  .all('/:id', () => {
    throw methodNotAllowed(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'])
  })
