/**
 * /api: the FastAPI backend's contract, which a large family of Next.js + Better Auth frontends is
 * written against, served from the same repo as /tasks. Every route exists as
 * `/api/{user_id}/tasks...` and as `/api/tasks...`; tasks are named by their per-user number.
 * Authentication, rate limits, quota, body limit and the D1 session are the main API's own.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../env'
import { limits } from '../limits'
import { methodNotAllowed, notFound, quotaExceeded, unprocessable } from '../problem'
import { rateLimit } from '../ratelimit'
import { d1Session } from '../session'
import { listTasks, listTasksWithTotal } from '../tasks/list-repo'
import type { Task } from '../tasks/model'
import { etagOf } from '../tasks/preconditions'
import * as repo from '../tasks/repo'
import { limitBody } from '../tasks/routes'
import { toggleTask, type WriteResult, writeTask } from '../tasks/write-repo'
import { listFormat } from './list-format'
import { createBody, listParams, toggleBody, updateBody } from './requests'
import { toApiTask } from './task'
import { apiBody, apiQuery, ownerQuery, pathUser, taskNumber } from './validate'

const now = () => new Date().toISOString()

const found = (task: Task | null): Task => {
  if (task === null) throw notFound('No task has this id.')
  return task
}

/**
 * The task a write left, as the main API's PUT and PATCH decide it (src/tasks/write-repo.ts):
 * completing a recurring task creates its successor, which counts against the quota.
 */
function written(result: WriteResult, quota: number): Task {
  if (result.outcome === 'over-quota') throw quotaExceeded(quota)
  if (result.outcome === 'needs-due-date') {
    throw unprocessable('Invalid request body. due_date: cannot be cleared while the task recurs.', [
      { pointer: '#/due_date', detail: 'cannot be cleared while the task recurs' },
    ])
  }
  return found(result.outcome === 'written' ? result.task : null)
}

const withEtag = (c: Context<AppEnv>, task: Task, status: 200 | 201 = 200) =>
  c.json(toApiTask(task, c.var.user.id), status, { ETag: etagOf(task.version) })

/** The path names no user: nothing to check. */
const anyPath = createMiddleware<AppEnv>((_c, next) => next())

/** The routes under one prefix; `owner` checks the prefix's `{user_id}`, if it has one. */
function tasksApi(owner: MiddlewareHandler<AppEnv>) {
  const toggle = [
    rateLimit,
    owner,
    limitBody,
    d1Session,
    taskNumber,
    ownerQuery,
    apiBody(toggleBody, { optional: true }),
  ] as const
  const toggled = async (
    c: Context<AppEnv, string, { out: { param: { number: number }; json: { completed?: boolean } } }>,
  ) => {
    const { number } = c.req.valid('param')
    const { completed } = c.req.valid('json')
    const { db, user } = c.var
    const { taskQuota } = limits(c.env)
    return withEtag(
      c,
      written(
        completed === undefined
          ? await toggleTask(db, user.id, { number }, now(), taskQuota)
          : await writeTask(db, user.id, { number }, { completed }, now(), {}, taskQuota),
        taskQuota,
      ),
    )
  }
  return (
    new Hono<AppEnv>()
      // Authentication and rate limits first, then the path's user: a request for another user's
      // tasks is refused before a body is read or a D1 statement runs.
      .get('/', rateLimit, owner, d1Session, apiQuery(listParams), async (c) => {
        const options = { ...c.req.valid('query'), from: undefined, now: now() }
        const { db, user } = c.var
        if (listFormat(c.env) === 'array') {
          const tasks = await listTasks(db, user.id, options)
          return c.json(tasks.map((task) => toApiTask(task, user.id)))
        }
        const { tasks, total } = await listTasksWithTotal(db, user.id, options)
        return c.json({ tasks: tasks.map((task) => toApiTask(task, user.id)), total })
      })

      .post('/', rateLimit, owner, limitBody, d1Session, ownerQuery, apiBody(createBody), async (c) => {
        const { taskQuota } = limits(c.env)
        const task = await repo.insertTask(c.var.db, c.var.user.id, c.req.valid('json'), now(), taskQuota)
        if (!task) throw quotaExceeded(taskQuota)
        return withEtag(c, task, 201)
      })

      .get('/:id', rateLimit, owner, d1Session, taskNumber, ownerQuery, async (c) => {
        return withEtag(c, found(await repo.getTask(c.var.db, c.var.user.id, c.req.valid('param'))))
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
        apiBody(updateBody),
        async (c) => {
          const { db, user } = c.var
          const ref = c.req.valid('param')
          const patch = c.req.valid('json')
          // Nothing to change is not a write: the task is answered as it is, at the same version.
          if (Object.keys(patch).length === 0) return withEtag(c, found(await repo.getTask(db, user.id, ref)))
          const { taskQuota } = limits(c.env)
          return withEtag(c, written(await writeTask(db, user.id, ref, patch, now(), {}, taskQuota), taskQuota))
        },
      )

      .delete('/:id', rateLimit, owner, d1Session, taskNumber, ownerQuery, async (c) => {
        if ((await repo.deleteTask(c.var.db, c.var.user.id, c.req.valid('param'))) === null) {
          throw notFound('No task has this id.')
        }
        // A body, not a 204: some frontends call res.json() on every response.
        return c.json({ message: 'Task deleted' as const })
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
