/**
 * /api: the FastAPI backend's contract, which a large family of Next.js + Better Auth frontends is
 * written against, served from the same repo as /tasks. Every route exists as
 * `/api/{user_id}/tasks...` and as `/api/tasks...`; tasks are named by their per-user number.
 * Authentication, rate limits, quota, body limit and the D1 session are the main API's own.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env'
import { methodNotAllowed, preconditionFailed } from '../problem'
import { rateLimit } from '../ratelimit'
import { empty, json } from '../respond'
import { d1Session } from '../session'
import type { Task } from '../tasks/model'
import { conditionalHeaders, etagOf, evaluateRead, type VersionCondition } from '../tasks/preconditions'
import { problemOf, type Refusal } from '../tasks/refusals'
import { limitBody } from '../tasks/routes'
import { type TaskRef, type TaskService, taskService, type Written } from '../tasks/service'
import { listFormat } from './list-format'
import { compatNotificationRoutes } from './notifications'
import { againstStored, needsStored } from './recurrence'
import { type ApiChanges, createBody, listParams, toggleBody, updateBody } from './requests'
import { toApiTask } from './task'
import { anyPath, apiBody, apiQuery, invalidBody, ownerQuery, pathUser, taskNumber } from './validate'

const needsDueDate = (field: 'dueAt' | 'recurrence') =>
  field === 'dueAt'
    ? invalidBody('due_date', 'cannot be cleared while the task recurs')
    : invalidBody('recurrence', 'needs a due_date: the series is counted from it')

/** The task an operation left, or the problem that refused it. */
function done(outcome: { kind: 'ok'; task: Task } | Refusal): Task {
  if (outcome.kind === 'ok') return outcome.task
  throw problemOf(outcome, needsDueDate)
}

/**
 * PUT and PATCH: one write, or, for a body that must be decided against the stored task
 * (recurrence.ts), a read and the write at the version read. An empty body writes nothing and
 * answers the task as it is.
 */
function update(tasks: TaskService, ref: TaskRef, changes: ApiChanges, condition: VersionCondition): Promise<Written> {
  if (needsStored(changes)) return tasks.updateFrom(ref, (stored) => againstStored(changes, stored), condition)
  if (Object.keys(changes.patch).length === 0) return tasks.updateFrom(ref, () => ({}), condition)
  return tasks.update(ref, changes.patch, condition)
}

const withEtag = (c: Context<AppEnv>, task: Task, status: 200 | 201 = 200) =>
  json(c, toApiTask(task, c.get('user').id), status, { ETag: etagOf(task.version) })

const tasks = (c: Context<AppEnv>) => taskService(c, 'api')

/** The routes under one prefix; `owner` checks the prefix's `{user_id}`, if it has one. */
function tasksApi(owner: MiddlewareHandler<AppEnv>) {
  const toggle = [
    rateLimit,
    owner,
    limitBody,
    d1Session,
    taskNumber,
    ownerQuery,
    conditionalHeaders,
    apiBody(toggleBody, { optional: true }),
  ] as const
  const toggled = async (
    c: Context<
      AppEnv,
      string,
      { out: { param: { number: number }; json: { completed?: boolean }; header: VersionCondition } }
    >,
  ) => {
    const ref = c.req.valid('param')
    const { completed } = c.req.valid('json')
    const condition = c.req.valid('header')
    const outcome =
      completed === undefined
        ? await tasks(c).toggle(ref, condition)
        : await tasks(c).update(ref, { completed }, condition)
    return withEtag(c, done(outcome))
  }
  return (
    new Hono<AppEnv>()
      // Authentication and rate limits first, then the path's user: a request for another user's
      // tasks is refused before a body is read or a D1 statement runs.
      .get('/', rateLimit, owner, d1Session, apiQuery(listParams), async (c) => {
        const options = { ...c.req.valid('query'), from: undefined, now: new Date().toISOString() }
        const user = c.get('user')
        if (listFormat(c.env) === 'array') {
          const list = await tasks(c).list(options)
          return json(
            c,
            list.map((task) => toApiTask(task, user.id)),
            200,
          )
        }
        const { tasks: list, total } = await tasks(c).listWithTotal(options)
        return json(c, { tasks: list.map((task) => toApiTask(task, user.id)), total }, 200)
      })

      .post('/', rateLimit, owner, limitBody, d1Session, ownerQuery, apiBody(createBody), async (c) => {
        return withEtag(c, done(await tasks(c).create(c.req.valid('json'))), 201)
      })

      .get('/:id', rateLimit, owner, d1Session, taskNumber, ownerQuery, conditionalHeaders, async (c) => {
        const task = done(await tasks(c).get(c.req.valid('param')))
        const read = evaluateRead(c.req.valid('header'), task.version)
        if (read === 'failed') throw preconditionFailed()
        if (read === 'not-modified') return empty(c, 304, { ETag: etagOf(task.version) })
        return withEtag(c, task)
      })

      .on(
        ['PUT', 'PATCH'],
        '/:id',
        rateLimit,
        owner,
        limitBody,
        d1Session,
        taskNumber,
        ownerQuery,
        conditionalHeaders,
        apiBody(updateBody),
        async (c) => {
          const outcome = await update(tasks(c), c.req.valid('param'), c.req.valid('json'), c.req.valid('header'))
          return withEtag(c, done(outcome))
        },
      )

      .delete('/:id', rateLimit, owner, d1Session, taskNumber, ownerQuery, conditionalHeaders, async (c) => {
        const outcome = await tasks(c).delete(c.req.valid('param'), c.req.valid('header'))
        if (outcome.kind !== 'ok') throw problemOf(outcome, needsDueDate)
        // A body, not a 204: some frontends call res.json() on every response.
        return json(c, { message: 'Task deleted' as const }, 200)
      })

      .patch('/:id/complete', ...toggle, toggled)
      .on(['PATCH', 'POST'], '/:id/toggle', ...toggle, toggled)

      .all('/', rateLimit, () => {
        throw methodNotAllowed(['GET', 'HEAD', 'POST'])
      })
      .all('/:id', rateLimit, () => {
        throw methodNotAllowed(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'])
      })
      .all('/:id/complete', rateLimit, () => {
        throw methodNotAllowed(['PATCH'])
      })
      .all('/:id/toggle', rateLimit, () => {
        throw methodNotAllowed(['PATCH', 'POST'])
      })
  )
}

export const compatRoutes = new Hono<AppEnv>()
  .route('/tasks', tasksApi(anyPath))
  .route('/:user_id/tasks', tasksApi(pathUser))
  .route('/', compatNotificationRoutes)
