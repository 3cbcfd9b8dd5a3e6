/**
 * /api: the FastAPI backend's contract, which a large family of Next.js + Better Auth frontends is
 * written against, served from the same repo as /tasks. Every route exists as
 * `/api/{user_id}/tasks...` and as `/api/tasks...`; tasks are named by their per-user number.
 * Authentication, rate limits, quota, body limit and the D1 session are the main API's own.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { Db } from '../db'
import type { AppEnv } from '../env'
import { limits } from '../limits'
import { methodNotAllowed, notFound, quotaExceeded } from '../problem'
import { rateLimit } from '../ratelimit'
import { d1Session } from '../session'
import { listTasks, listTasksWithTotal } from '../tasks/list-repo'
import type { Task } from '../tasks/model'
import { etagOf } from '../tasks/preconditions'
import type { TaskRef } from '../tasks/repo'
import * as repo from '../tasks/repo'
import { limitBody } from '../tasks/routes'
import { toggleTask, type WriteResult, writeTask } from '../tasks/write-repo'
import { listFormat } from './list-format'
import { compatNotificationRoutes } from './notifications'
import { againstStored, needsStored } from './recurrence'
import { type ApiChanges, createBody, listParams, toggleBody, updateBody } from './requests'
import { toApiTask } from './task'
import { apiBody, apiQuery, invalidBody, ownerQuery, pathUser, taskNumber } from './validate'

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
    throw result.field === 'dueAt'
      ? invalidBody('due_date', 'cannot be cleared while the task recurs')
      : invalidBody('recurrence', 'needs a due_date: the series is counted from it')
  }
  return found(result.outcome === 'written' ? result.task : null)
}

// A concurrent write between the read and the write sends the write round again, this often at most.
const ATTEMPTS = 3

/**
 * PUT and PATCH: one write, or, for a body that must be decided against the stored task (recurrence.ts),
 * a read and then the write at the version read. The task as it is when there is nothing to change.
 */
async function update(db: Db, userId: string, ref: TaskRef, changes: ApiChanges, quota: number): Promise<Task> {
  if (!needsStored(changes)) {
    if (Object.keys(changes.patch).length === 0) return found(await repo.getTask(db, userId, ref))
    return written(await writeTask(db, userId, ref, changes.patch, now(), {}, quota), quota)
  }
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const stored = found(await repo.getTask(db, userId, ref))
    const patch = againstStored(changes, stored)
    if (Object.keys(patch).length === 0) return stored
    const result = await writeTask(db, userId, ref, patch, now(), { match: [stored.version] }, quota)
    if (result.outcome !== 'no-match') return written(result, quota)
  }
  throw notFound('No task has this id.')
}

const withEtag = (c: Context<AppEnv>, task: Task, status: 200 | 201 = 200) =>
  c.json(toApiTask(task, c.get('user').id), status, { ETag: etagOf(task.version) })

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
    const db = c.get('db')
    const user = c.get('user')
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
        const db = c.get('db')
        const user = c.get('user')
        if (listFormat(c.env) === 'array') {
          const tasks = await listTasks(db, user.id, options)
          return c.json(tasks.map((task) => toApiTask(task, user.id)))
        }
        const { tasks, total } = await listTasksWithTotal(db, user.id, options)
        return c.json({ tasks: tasks.map((task) => toApiTask(task, user.id)), total })
      })

      .post('/', rateLimit, owner, limitBody, d1Session, ownerQuery, apiBody(createBody), async (c) => {
        const { taskQuota } = limits(c.env)
        const task = await repo.insertTask(c.get('db'), c.get('user').id, c.req.valid('json'), now(), taskQuota)
        if (!task) throw quotaExceeded(taskQuota)
        return withEtag(c, task, 201)
      })

      .get('/:id', rateLimit, owner, d1Session, taskNumber, ownerQuery, async (c) => {
        return withEtag(c, found(await repo.getTask(c.get('db'), c.get('user').id, c.req.valid('param'))))
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
          const db = c.get('db')
          const user = c.get('user')
          const { taskQuota } = limits(c.env)
          return withEtag(c, await update(db, user.id, c.req.valid('param'), c.req.valid('json'), taskQuota))
        },
      )

      .delete('/:id', rateLimit, owner, d1Session, taskNumber, ownerQuery, async (c) => {
        const { tombstonesPerUser } = limits(c.env)
        if ((await repo.deleteTask(c.get('db'), c.get('user').id, c.req.valid('param'), tombstonesPerUser)) === null) {
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
  .route('/', compatNotificationRoutes)
