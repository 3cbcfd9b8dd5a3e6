/** /tasks: thin handlers from validated input to the repo. Every route requires a user. */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { validator } from 'hono/validator'
import { guard } from '../guard'
import { limits } from '../config'
import type { Db } from '../db'
import type { AppEnv } from '../env'
import { forbidden, methodNotAllowed, notFound, payloadTooLarge, quotaExceeded } from '../problem'
import { d1Session } from '../session'
import { jsonBody, queryParams } from '../validation'
import { encodeCursor } from './cursor'
import { isTaskId } from './id'
import * as repo from './repo'
import { listQuery, noQuery, taskInput, taskPatch } from './schema'

export const MAX_BODY_BYTES = 16 * 1024

const taskId = validator('param', (params) => {
  const id = params.id ?? ''
  if (!isTaskId(id)) throw notFound('No task has this id.')
  return { id }
})

/**
 * The result of a user-scoped statement on task `id`. When it matched nothing, one more query
 * tells someone else's task (403) from no task at all (404).
 */
async function owned<T>(db: Db, id: string, result: T | null): Promise<T> {
  if (result !== null) return result
  throw (await repo.taskExists(db, id)) ? forbidden('This task belongs to another user.') : notFound('No task has this id.')
}

const now = () => new Date().toISOString()

export const taskRoutes = new Hono<AppEnv>()
  // Authentication and rate limits first: nothing below runs, and no body is read, for a refused request.
  .use(guard)
  .use(d1Session)
  .use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw payloadTooLarge(MAX_BODY_BYTES) } }))

  .get('/', queryParams(listQuery), async (c) => {
    const { limit, sort, filter, listing, from } = c.req.valid('query')
    // One row more than the page: it tells whether there is a next page and where it starts.
    const rows = await repo.listTasks(c.var.db, c.var.user.id, { limit: limit + 1, sort, filter, from, now: now() })
    const next = rows[limit]
    const nextCursor = next ? encodeCursor({ value: next[sort.field], id: next.id }, listing) : null
    const items = rows.slice(0, limit)
    return c.json({ items, nextCursor })
  })

  .post('/', queryParams(noQuery), jsonBody(taskInput), async (c) => {
    const { taskQuota } = limits(c.env)
    const task = await repo.insertTask(c.var.db, c.var.user.id, c.req.valid('json'), now(), taskQuota)
    if (!task) throw quotaExceeded(taskQuota)
    return c.json(task, 201, { Location: `/tasks/${task.id}` })
  })

  .get('/:id', taskId, queryParams(noQuery), async (c) => {
    const { id } = c.req.valid('param')
    return c.json(await owned(c.var.db, id, await repo.getTask(c.var.db, c.var.user.id, id)))
  })

  .put('/:id', taskId, queryParams(noQuery), jsonBody(taskInput), async (c) => {
    const { id } = c.req.valid('param')
    return c.json(await owned(c.var.db, id, await repo.updateTask(c.var.db, c.var.user.id, id, c.req.valid('json'), now())))
  })

  .patch('/:id', taskId, queryParams(noQuery), jsonBody(taskPatch), async (c) => {
    const { id } = c.req.valid('param')
    return c.json(await owned(c.var.db, id, await repo.updateTask(c.var.db, c.var.user.id, id, c.req.valid('json'), now())))
  })

  .delete('/:id', taskId, queryParams(noQuery), async (c) => {
    const { id } = c.req.valid('param')
    await owned(c.var.db, id, await repo.deleteTask(c.var.db, c.var.user.id, id))
    return c.body(null, 204)
  })

  .all('/', () => {
    throw methodNotAllowed(['GET', 'HEAD', 'POST'])
  })
  .all('/:id', () => {
    throw methodNotAllowed(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'])
  })
