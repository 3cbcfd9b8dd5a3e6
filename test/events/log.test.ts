/**
 * The event log (docs/events.md): every change of a task, through every door, writes exactly its
 * event in the same transaction; a refused write, a failed condition or a replay writes none.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { TaskEvent } from '../../src/events/model'
import type { Task } from '../../src/tasks/model'
import { TaskService } from '../../src/tasks/service'
import { API_RESOURCE, apiAccessToken, request, type SignedIn, signIn } from '../helpers'
import { call, mcpClient, mcpToken } from '../mcp/client'

/** Every event of the user, oldest first, as GET /tasks/events shows them. */
async function eventsOf(user: SignedIn): Promise<TaskEvent[]> {
  const res = await user.request('/tasks/events?limit=100')
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json<{ items: TaskEvent[] }>()).items
}

const summary = (events: TaskEvent[]) => events.map((e) => [e.type, e.taskNumber, e.door])

/** The user's row count in task_events, read directly. */
const storedEvents = async (userId: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM task_events WHERE user_id = ?1')
    .bind(userId)
    .first<{ n: number }>())!.n

async function get(user: SignedIn, id: string): Promise<Task> {
  const res = await user.request(`/tasks/${id}`)
  expect(res.status).toBe(200)
  return res.json<Task>()
}

const API = API_RESOURCE

/** An OAuth access token for the REST API, as an app would hold. */
const accessToken = (sub: string, scope = 'tasks:read tasks:write', clientId = 'calendar-app') =>
  apiAccessToken(sub, scope, clientId)

describe('the event of each change', () => {
  it('logs REST creates, updates, completions, reopenings, replacements and deletes, each with the task as it became', async () => {
    const user = await signIn()
    const task = await user.createTask({ title: 'Write the report', tags: ['work'] })
    const patched = await (
      await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { priority: 'high' } })
    ).json<Task>()
    const done = await (
      await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { completed: true } })
    ).json<Task>()
    const reopened = await (
      await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { completed: false } })
    ).json<Task>()
    const replaced = await (
      await user.request(`/tasks/${task.id}`, { method: 'PUT', body: { title: 'Replaced', completed: true } })
    ).json<Task>()
    // A PUT that leaves it completed is an update, not a second completion.
    const again = await (
      await user.request(`/tasks/${task.id}`, { method: 'PUT', body: { title: 'Again', completed: true } })
    ).json<Task>()
    expect((await user.request(`/tasks/${task.id}`, { method: 'DELETE' })).status).toBe(204)

    const events = await eventsOf(user)
    expect(events.map((e) => e.type)).toEqual([
      'task.created',
      'task.updated',
      'task.completed',
      'task.reopened',
      'task.completed',
      'task.updated',
      'task.deleted',
    ])
    // The task after each change, exactly as the API answered it; the deleted one as it was.
    expect(events.map((e) => e.task)).toEqual([task, patched, done, reopened, replaced, again, again])
    for (const event of events) {
      expect(event).toMatchObject({ taskId: task.id, taskNumber: task.number, door: 'rest', clientId: null })
      expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }
    expect(events.map((e) => e.createdAt)).toEqual([
      ...events.map((e) => e.task.updatedAt).slice(0, 6),
      expect.any(String),
    ])
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
    const seqs = events.map((e) => e.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
  })

  it("numbers each event as the sync feed numbers its change: the task's seq, or its tombstone's", async () => {
    const user = await signIn()
    const kept = await user.createTask({ title: 'kept' })
    const gone = await user.createTask({ title: 'gone', completed: true })
    await user.request(`/tasks/${kept.id}`, { method: 'PATCH', body: { title: 'kept, renamed' } })
    expect((await user.request('/tasks?completed=true', { method: 'DELETE' })).status).toBe(200)
    const events = await eventsOf(user)
    const { seq } = (await env.DB.prepare('SELECT seq FROM tasks WHERE id = ?1')
      .bind(kept.id)
      .first<{ seq: number }>())!
    const tombstone = (await env.DB.prepare('SELECT seq FROM task_tombstones WHERE id = ?1')
      .bind(gone.id)
      .first<{ seq: number }>())!
    expect(events.find((e) => e.taskId === kept.id && e.type === 'task.updated')!.seq).toBe(seq)
    expect(events.find((e) => e.type === 'task.deleted')!.seq).toBe(tombstone.seq)
    const counter = (await env.DB.prepare('SELECT seq FROM task_counts WHERE user_id = ?1')
      .bind(user.id)
      .first<{ seq: number }>())!
    expect(events.at(-1)!.seq).toBe(counter.seq)
  })

  it('logs one task.deleted per task of a bulk delete, numbered as their tombstones are', async () => {
    const user = await signIn()
    const done = [
      await user.createTask({ title: 'a', completed: true }),
      await user.createTask({ title: 'b', completed: true }),
      await user.createTask({ title: 'c', completed: true }),
    ]
    const open = await user.createTask({ title: 'open' })
    const res = await user.request('/tasks?completed=true', { method: 'DELETE' })
    expect(await res.json()).toEqual({ deleted: 3 })
    const deleted = (await eventsOf(user)).filter((e) => e.type === 'task.deleted')
    expect(deleted.map((e) => e.task)).toEqual(done)
    expect(deleted.every((e) => e.door === 'rest')).toBe(true)
    const { results: tombstones } = await env.DB.prepare(
      'SELECT seq, id FROM task_tombstones WHERE user_id = ?1 ORDER BY seq',
    )
      .bind(user.id)
      .all<{ seq: number; id: string }>()
    // The same numbers, not necessarily task for task: the DELETE visits the tasks in its own order.
    expect(deleted.map((e) => e.seq)).toEqual(tombstones.map((t) => t.seq))
    expect(deleted.map((e) => e.taskId).sort()).toEqual(tombstones.map((t) => t.id).sort())
    expect((await eventsOf(user)).some((e) => e.taskId === open.id && e.type === 'task.deleted')).toBe(false)
  })

  it('logs the /api door: create, update, toggle, complete and delete', async () => {
    const user = await signIn()
    const api = (method: string, path: string, body?: unknown) =>
      user.request(`/api/${user.id}/tasks${path}`, { method, ...(body !== undefined && { body }) })
    expect((await api('POST', '', { title: 'From the frontend' })).status).toBe(201)
    expect((await api('PUT', '/1', { title: 'Renamed' })).status).toBe(200)
    expect((await api('PATCH', '/1/toggle')).status).toBe(200)
    expect((await api('POST', '/1/toggle')).status).toBe(200)
    expect((await api('PATCH', '/1/complete', { completed: true })).status).toBe(200)
    expect((await api('DELETE', '/1')).status).toBe(200)
    expect(summary(await eventsOf(user))).toEqual([
      ['task.created', 1, 'api'],
      ['task.updated', 1, 'api'],
      ['task.completed', 1, 'api'],
      ['task.reopened', 1, 'api'],
      ['task.completed', 1, 'api'],
      ['task.deleted', 1, 'api'],
    ])
  })

  it('logs nothing for an /api write that changes nothing (an empty body)', async () => {
    const user = await signIn()
    await user.createTask()
    expect((await user.request(`/api/${user.id}/tasks/1`, { method: 'PUT', body: {} })).status).toBe(200)
    expect(summary(await eventsOf(user))).toEqual([['task.created', 1, 'rest']])
  })

  it('logs the MCP tools, with the OAuth client of their token', async () => {
    const user = await signIn()
    const client = await mcpClient(await mcpToken(user.id))
    try {
      const created = await call(client, 'add_task', { title: 'Via MCP' })
      expect(created.isError).toBeFalsy()
      expect((await call(client, 'update_task', { task_id: 1, title: 'Renamed by MCP' })).isError).toBeFalsy()
      expect((await call(client, 'complete_task', { task_id: 1 })).isError).toBeFalsy()
      expect((await call(client, 'delete_task', { task_id: 1 })).isError).toBeFalsy()
    } finally {
      await client.close()
    }
    const events = await eventsOf(user)
    expect(summary(events)).toEqual([
      ['task.created', 1, 'mcp'],
      ['task.updated', 1, 'mcp'],
      ['task.completed', 1, 'mcp'],
      ['task.deleted', 1, 'mcp'],
    ])
    expect(events.every((e) => e.clientId === 'test-client')).toBe(true)
  })

  it('records the OAuth client of an access token on the REST API, and none for a session token', async () => {
    const user = await signIn()
    const token = await accessToken(user.id)
    const res = await request('/tasks', { method: 'POST', token, env: API, body: { title: 'From an app' } })
    expect(res.status).toBe(201)
    await user.createTask({ title: 'From the user' })
    expect((await eventsOf(user)).map((e) => e.clientId)).toEqual(['calendar-app', null])
  })

  it("logs a recurring task's completion and its next occurrence's creation by the server (door system)", async () => {
    const user = await signIn()
    const task = await user.createTask({
      title: 'Water the plants',
      dueAt: '2026-06-01T09:00:00.000Z',
      recurrence: { frequency: 'daily' },
    })
    const completed = await (
      await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { completed: true } })
    ).json<Task>()
    const successor = await get(user, completed.nextTaskId!)
    const events = await eventsOf(user)
    expect(summary(events)).toEqual([
      ['task.created', 1, 'rest'],
      ['task.created', 2, 'system'],
      ['task.completed', 1, 'rest'],
    ])
    expect(events[1]).toMatchObject({ task: successor, clientId: null })
    // The completion's event shows the link to the occurrence it created.
    expect(events[2]!.task).toEqual(completed)
    expect(events[2]!.task).toMatchObject({ nextTaskId: successor.id, nextTaskNumber: 2 })
  })
})

describe('no event for a write that did not happen', () => {
  it('logs nothing for a 412, a 404, a 403, a 400, a 422, the quota, a key reused and a replay', async () => {
    const [user, other] = [await signIn(), await signIn()]
    const task = await user.createTask()
    const theirs = await other.createTask()
    const key = { 'Idempotency-Key': crypto.randomUUID() }
    expect((await user.request('/tasks', { method: 'POST', body: { title: 'keyed' }, headers: key })).status).toBe(201)
    const before = await storedEvents(user.id)
    const refused: [Response, number][] = [
      [
        await user.request(`/tasks/${task.id}`, {
          method: 'PATCH',
          body: { title: 'x' },
          headers: { 'If-Match': '"v9"' },
        }),
        412,
      ],
      [await user.request(`/tasks/${task.id}`, { method: 'DELETE', headers: { 'If-Match': '"v9"' } }), 412],
      [await user.request(`/tasks/${crypto.randomUUID()}`, { method: 'PATCH', body: { title: 'x' } }), 404],
      [await user.request(`/tasks/${theirs.id}`, { method: 'DELETE' }), 403],
      [await user.request(`/tasks/${theirs.id}`, { method: 'PATCH', body: { completed: true } }), 403],
      [await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { title: '' } }), 400],
      [await user.request(`/api/${user.id}/tasks/1`, { method: 'PUT', body: { priority: 'urgent' } }), 422],
      [await user.request(`/api/${user.id}/tasks/99`, { method: 'PATCH', body: { title: 'x' } }), 404],
      [await user.request('/tasks', { method: 'POST', body: { title: 'keyed' }, headers: key }), 201],
      [await user.request('/tasks', { method: 'POST', body: { title: 'other' }, headers: key }), 422],
      [await user.request('/tasks', { method: 'POST', body: { title: 'over' }, env: { TASK_QUOTA: '2' } }), 409],
    ]
    for (const [res, status] of refused) expect(res.status, await res.text()).toBe(status)
    expect(refused[8]![0].headers.get('Idempotent-Replayed')).toBe('true')
    expect(await storedEvents(user.id)).toBe(before)
    expect(await storedEvents(other.id)).toBe(1)
  })

  it('logs nothing when completing a recurring task would pass the quota with its successor', async () => {
    const user = await signIn()
    const task = await user.createTask({
      title: 'r',
      dueAt: '2026-06-01T09:00:00.000Z',
      recurrence: { frequency: 'daily' },
    })
    const res = await user.request(`/tasks/${task.id}`, {
      method: 'PATCH',
      body: { completed: true },
      env: { TASK_QUOTA: '1' },
    })
    expect(res.status).toBe(409)
    expect(await storedEvents(user.id)).toBe(1)
  })
})

describe('a change and its event commit together', () => {
  it('rolls the write back when its event cannot be written (here: a door the log refuses)', async () => {
    const user = await signIn()
    const task = await user.createTask({ title: 'unchanged' })
    const broken = new TaskService(env.DB, env, user.id, 'bogus' as 'rest')
    await expect(broken.update(task.id, { title: 'changed' })).rejects.toThrow('database operation failed')
    await expect(broken.create({ ...task, title: 'never stored' })).rejects.toThrow('database operation failed')
    expect(await get(user, task.id)).toEqual(task)
    const { n } = (await env.DB.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1')
      .bind(user.id)
      .first<{ n: number }>())!
    expect(n).toBe(1)
    expect(await storedEvents(user.id)).toBe(1)
  })

  it('rolls the delete back with its event when the delete fails', async () => {
    const user = await signIn()
    const task = await user.createTask()
    const broken = new TaskService(env.DB, env, user.id, 'bogus' as 'rest')
    await expect(broken.delete(task.id)).rejects.toThrow('database operation failed')
    expect(await get(user, task.id)).toEqual(task)
    expect(await storedEvents(user.id)).toBe(1)
  })

  it("logs a write that names no door as the server's, never as the last writer's", async () => {
    const user = await signIn()
    const task = await user.createTask()
    // A write as some future path might make it, setting neither seq nor changed_by.
    await env.DB.prepare("UPDATE tasks SET title = 'raw', version = version + 1 WHERE id = ?1").bind(task.id).run()
    const events = await eventsOf(user)
    expect(events.at(-1)).toMatchObject({ type: 'task.updated', door: 'system', task: { title: 'raw' } })
    const { seq } = (await env.DB.prepare('SELECT seq FROM tasks WHERE id = ?1')
      .bind(task.id)
      .first<{ seq: number }>())!
    expect(events.at(-1)!.seq).toBe(seq)
  })
})
