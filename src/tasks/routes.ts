/** /tasks: thin handlers from validated input to the repo. Every route requires a user. */
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import * as z from 'zod'
import type { Db } from '../db'
import type { AppEnv } from '../env'
import { REPLAYED_HEADER } from '../headers'
import { IDEMPOTENCY_HEADER, idempotencyHeaders, requestFingerprint } from '../idempotency/key'
import { insertTaskOnce } from '../idempotency/repo'
import { limits } from '../limits'
import { annotate } from '../openapi/annotate'
import {
  forbidden,
  idempotencyKeyReused,
  idempotencyKeysExhausted,
  invalidRequest,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  preconditionFailed,
  quotaExceeded,
} from '../problem'
import { rateLimit } from '../ratelimit'
import { empty, json } from '../respond'
import { d1Session } from '../session'
import { headerParams, jsonBody, queryParams } from '../validation'
import { encodeCursor } from './cursor'
import { isTaskId, TASK_ID } from './id'
import { listPage } from './list-repo'
import type { Task } from './model'
import { conditionalHeaders, etagOf, evaluateRead, type VersionCondition } from './preconditions'
import * as repo from './repo'
import {
  bulkDeleteQuery,
  changesQuery,
  listQuery,
  noQuery,
  RECURRENCE_NEEDS_DUE_AT,
  type TaskInput,
  type TaskPatch,
  taskInput,
  taskPatch,
} from './requests'
import { changesSince } from './sync'
import { writeTask } from './write-repo'

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
const taskId = annotate(
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

/**
 * The result of a user-scoped statement on task `id`. When it matched nothing, one more query
 * tells why: the caller's own task failed the request's precondition (412), it is someone else's
 * (403), or there is none (404). Another user's task is never a 412, which would reveal that it
 * exists at another version.
 */
async function owned<T>(db: Db, userId: string, id: string, result: T | null): Promise<T> {
  if (result !== null) return result
  const owner = await repo.taskOwner(db, userId, id)
  throw owner === 'mine'
    ? preconditionFailed()
    : owner === 'other'
      ? forbidden('This task belongs to another user.')
      : notFound('No task has this id.')
}

const withEtag = (c: Context<AppEnv>, task: Task, status: 200 | 201 = 200, headers: Record<string, string> = {}) =>
  json(c, task, status, { ...headers, ETag: etagOf(task.version) })

const now = () => new Date().toISOString()

const NEEDS_DUE_DATE = {
  dueAt: 'cannot be cleared while the task recurs; set recurrence to null as well',
  recurrence: RECURRENCE_NEEDS_DUE_AT,
}

/** PUT and PATCH: the written task, or the problem that refused the write. */
async function written(
  c: Context<AppEnv, string, { out: { header: VersionCondition } }>,
  id: string,
  changes: TaskInput | TaskPatch,
): Promise<Task> {
  const db = c.get('db')
  const user = c.get('user')
  const { taskQuota } = limits(c.env)
  const result = await writeTask(db, user.id, id, changes, now(), c.req.valid('header'), taskQuota)
  // Completing a recurring task creates its successor, which counts against the quota like a create.
  if (result.outcome === 'over-quota') throw quotaExceeded(taskQuota)
  if (result.outcome === 'needs-due-date') {
    throw invalidRequest(`Invalid body field(s): ${result.field}.`, [
      { pointer: `#/${result.field}`, detail: NEEDS_DUE_DATE[result.field] },
    ])
  }
  return owned(db, user.id, id, result.outcome === 'written' ? result.task : null)
}

export const taskRoutes = new Hono<AppEnv>()
  // Authentication and rate limits first: nothing below runs, and no body is read, for a refused request.
  .use(rateLimit)
  .use(d1Session)
  .use(limitBody)

  .get('/', queryParams(listQuery), async (c) => {
    const { limit, sort, filter, listing, from } = c.req.valid('query')
    const page = await listPage(c.get('db'), c.get('user').id, { limit, sort, filter, from, now: now() })
    return json(c, { items: page.tasks, nextCursor: page.next && encodeCursor(page.next, listing) }, 200)
  })

  .post('/', queryParams(noQuery), headerParams(idempotencyHeaders), jsonBody(taskInput), async (c) => {
    const input = c.req.valid('json')
    const key = c.req.valid('header')[IDEMPOTENCY_HEADER]
    const { taskQuota, idempotencyKeysPerUser } = limits(c.env)
    if (key === undefined) {
      const task = await repo.insertTask(c.get('db'), c.get('user').id, input, now(), taskQuota)
      if (!task) throw quotaExceeded(taskQuota)
      return withEtag(c, task, 201, { Location: `/tasks/${task.id}` })
    }
    const fingerprint = await requestFingerprint(input)
    const bounds = { quota: taskQuota, keyBudget: idempotencyKeysPerUser }
    const result = await insertTaskOnce(c.get('db'), c.get('user').id, { key, fingerprint }, input, now(), bounds)
    if (result.outcome === 'key-reused') throw idempotencyKeyReused()
    if (result.outcome === 'over-quota') throw quotaExceeded(taskQuota)
    if (result.outcome === 'over-key-budget') {
      throw idempotencyKeysExhausted(idempotencyKeysPerUser, result.retryAfterSeconds)
    }
    const { task } = result
    // A replay is the first response again, marked so a client can tell (as Stripe's API does).
    const replayed = result.outcome === 'replayed' ? { [REPLAYED_HEADER]: 'true' } : {}
    return withEtag(c, task, 201, { Location: `/tasks/${task.id}`, ...replayed })
  })

  // Deletes the caller's completed tasks (each leaves a tombstone for the sync feed).
  .delete('/', queryParams(bulkDeleteQuery), async (c) => {
    const { tombstonesPerUser } = limits(c.env)
    return json(c, { deleted: await repo.deleteCompletedTasks(c.get('db'), c.get('user').id, tombstonesPerUser) }, 200)
  })

  .get('/changes', queryParams(changesQuery), async (c) => {
    const { since, limit } = c.req.valid('query')
    return json(c, await changesSince(c.get('db'), c.get('user').id, since, limit), 200)
  })

  .get('/:id', taskId, queryParams(noQuery), conditionalHeaders, async (c) => {
    const { id } = c.req.valid('param')
    const db = c.get('db')
    const userId = c.get('user').id
    const task = await owned(db, userId, id, await repo.getTask(db, userId, id))
    const outcome = evaluateRead(c.req.valid('header'), task.version)
    if (outcome === 'failed') throw preconditionFailed()
    if (outcome === 'not-modified') return empty(c, 304, { ETag: etagOf(task.version) })
    return withEtag(c, task)
  })

  .put('/:id', taskId, queryParams(noQuery), conditionalHeaders, jsonBody(taskInput), async (c) => {
    const { id } = c.req.valid('param')
    return withEtag(c, await written(c, id, c.req.valid('json')))
  })

  .patch('/:id', taskId, queryParams(noQuery), conditionalHeaders, jsonBody(taskPatch), async (c) => {
    const { id } = c.req.valid('param')
    return withEtag(c, await written(c, id, c.req.valid('json')))
  })

  .delete('/:id', taskId, queryParams(noQuery), conditionalHeaders, async (c) => {
    const { id } = c.req.valid('param')
    const db = c.get('db')
    const user = c.get('user')
    const { tombstonesPerUser } = limits(c.env)
    await owned(db, user.id, id, await repo.deleteTask(db, user.id, id, tombstonesPerUser, c.req.valid('header')))
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
