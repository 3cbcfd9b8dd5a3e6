/**
 * Every write door pokes the user's live sockets through the task service: the REST API, the /api
 * routes (the toggle included), the MCP tools, and the successor a completed recurring task gets.
 * A write that is refused, or writes nothing, pokes no one.
 */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import type { LiveMessage } from '../../src/live/object'
import { sendDueReminders } from '../../src/reminders/job'
import type { Task } from '../../src/tasks/model'
import { feed, type SignedIn, signIn } from '../helpers'
import { call, mcpClient, mcpToken } from '../mcp/client'
import { dueTasks } from '../notifications/seed'
import { connected, type Listener, sleep } from './socket'

let open: Listener[] = []
afterEach(() => {
  for (const { socket } of open) socket.close(1000, 'test over')
  open = []
})

/** A user with a socket open, whose `ready` has been taken. */
async function listening(): Promise<{ user: SignedIn; live: Listener & { ready: LiveMessage } }> {
  const user = await signIn()
  const live = await connected(user)
  open.push(live)
  return { user, live }
}

/** The socket's next message is `changed`, at the token a full pull now ends at. */
async function expectPoked(user: SignedIn, live: Listener) {
  expect(await live.next()).toEqual({ type: 'changed', token: (await feed(user)).token })
}

/** Nothing more arrives for a while. */
async function expectQuiet(live: Listener) {
  const heard = live.messages.length
  await sleep(300)
  expect(live.messages.slice(heard)).toEqual([])
}

/** `res` has `status`; its body for the caller. */
async function expectStatus(res: Response, status: number) {
  expect(res.status, await res.clone().text()).toBe(status)
  return res
}

describe('the REST API pokes after', () => {
  it('a create, with or without an Idempotency-Key; a replay pokes no one', async () => {
    const { user, live } = await listening()
    await user.createTask({ title: 'plain' })
    await expectPoked(user, live)
    const keyed = { method: 'POST', body: { title: 'keyed' }, headers: { 'Idempotency-Key': 'one' } }
    await expectStatus(await user.request('/tasks', keyed), 201)
    await expectPoked(user, live)
    const replay = await expectStatus(await user.request('/tasks', keyed), 201)
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true')
    await expectQuiet(live)
  })

  it('an update (PATCH), a replacement (PUT) and a delete', async () => {
    const { user, live } = await listening()
    const task = await user.createTask()
    await expectPoked(user, live)
    await expectStatus(await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { priority: 'high' } }), 200)
    await expectPoked(user, live)
    await expectStatus(await user.request(`/tasks/${task.id}`, { method: 'PUT', body: { title: 'replaced' } }), 200)
    await expectPoked(user, live)
    await expectStatus(await user.request(`/tasks/${task.id}`, { method: 'DELETE' }), 204)
    await expectPoked(user, live)
    const page = await feed(user, live.ready.token)
    expect(page).toMatchObject({ tasks: [], deleted: [task.id] })
  })

  it('a bulk delete of completed tasks; one that deletes nothing pokes no one', async () => {
    const { user, live } = await listening()
    await expectStatus(await user.request('/tasks?completed=true', { method: 'DELETE' }), 200)
    await expectQuiet(live)
    await user.createTask({ completed: true })
    await expectPoked(user, live)
    const res = await expectStatus(await user.request('/tasks?completed=true', { method: 'DELETE' }), 200)
    expect(await res.json()).toEqual({ deleted: 1 })
    await expectPoked(user, live)
  })

  it('completing a recurring task, once for the task and its successor, whose token covers both', async () => {
    const { user, live } = await listening()
    const task = await user.createTask({
      dueAt: '2027-03-27T08:00:00Z',
      recurrence: { frequency: 'daily' },
    })
    await expectPoked(user, live)
    const before = live.messages.at(-1) as LiveMessage
    const res = await expectStatus(
      await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { completed: true } }),
      200,
    )
    const done = await res.json<Task & { nextTaskId: string }>()
    await expectPoked(user, live)
    const page = await feed(user, before.token)
    expect(page.tasks.map((t) => t.id).sort()).toEqual([task.id, done.nextTaskId].sort())
  })
})

describe('the /api routes poke after', () => {
  it('a create, a PUT, a PATCH, the toggle and complete routes, and a delete', async () => {
    const { user, live } = await listening()
    const created = await expectStatus(
      await user.request('/api/tasks', { method: 'POST', body: { title: 'api' } }),
      201,
    )
    const { id } = await created.json<{ id: number }>()
    await expectPoked(user, live)
    const writes: [string, string, unknown][] = [
      ['PUT', `/api/tasks/${id}`, { title: 'put' }],
      ['PATCH', `/api/${user.id}/tasks/${id}`, { title: 'patched' }],
      ['PATCH', `/api/tasks/${id}/toggle`, undefined],
      ['POST', `/api/tasks/${id}/toggle`, undefined],
      ['PATCH', `/api/tasks/${id}/complete`, undefined],
    ]
    for (const [method, path, body] of writes) {
      await expectStatus(await user.request(path, { method, ...(body !== undefined && { body }) }), 200)
      await expectPoked(user, live)
    }
    await expectStatus(await user.request(`/api/tasks/${id}`, { method: 'DELETE' }), 200)
    await expectPoked(user, live)
  })
})

describe('the MCP tools poke after', () => {
  it('add_task, update_task, complete_task and delete_task; list_tasks pokes no one', async () => {
    const { user, live } = await listening()
    const client = await mcpClient(await mcpToken(user.id))
    const added = await call(client, 'add_task', { title: 'from a model' })
    expect(added.isError).toBeFalsy()
    const taskId = added.structuredContent!.task_id
    await expectPoked(user, live)
    for (const [name, args] of [
      ['update_task', { task_id: taskId, title: 'renamed' }],
      ['complete_task', { task_id: taskId, completed: true }],
      ['delete_task', { task_id: taskId }],
    ] as const) {
      const result = await call(client, name, args)
      expect(result.isError, JSON.stringify(result)).toBeFalsy()
      await expectPoked(user, live)
    }
    expect((await call(client, 'list_tasks', {})).isError).toBeFalsy()
    await expectQuiet(live)
    await client.close()
  })
})

describe('no poke', () => {
  it('for a refused write, at any door, nor for a read', async () => {
    const { user, live } = await listening()
    const task = await user.createTask()
    await expectPoked(user, live)
    const missing = crypto.randomUUID()
    const refused: [string, string, (Record<string, unknown> | undefined)?, Record<string, string>?][] = [
      ['PATCH', `/tasks/${missing}`, { title: 'x' }],
      ['PATCH', `/tasks/${task.id}`, { title: 'x' }, { 'If-Match': '"v99"' }],
      ['PATCH', `/tasks/${task.id}`, { title: '' }],
      ['PUT', `/tasks/${task.id}`, { nope: 1 }],
      ['DELETE', `/tasks/${missing}`],
      ['DELETE', `/tasks/${task.id}`, undefined, { 'If-Match': '"v99"' }],
      ['POST', '/tasks', { title: 'x', userId: 'someone' }],
      ['PATCH', '/api/tasks/999/toggle'],
      ['DELETE', '/api/tasks/999'],
      ['GET', '/tasks'],
      ['GET', `/tasks/${task.id}`],
      ['GET', '/api/tasks'],
    ]
    for (const [method, path, body, headers] of refused) {
      const res = await user.request(path, { method, ...(body && { body }), ...(headers && { headers }) })
      if (method === 'GET') expect(res.status, path).toBe(200)
      else expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400)
    }
    const client = await mcpClient(await mcpToken(user.id))
    expect((await call(client, 'delete_task', { task_id: 999 })).isError).toBe(true)
    await client.close()
    await expectQuiet(live)
  })

  it("for another user's socket", async () => {
    const { user, live } = await listening()
    const other = await listening()
    await user.createTask()
    await expectPoked(user, live)
    await expectQuiet(other.live)
  })
})

/** The every-minute job at `at`, with the users' Durable Objects, as the scheduled handler runs it. */
const runJobWith = (at: number) => sendDueReminders(env, at)

describe('the reminder job pokes', () => {
  it('the sockets of a user whose reminder it records in the inbox, and no one else', async () => {
    const { user, live } = await listening()
    const other = await listening()
    const at = Date.parse('2044-01-01T00:00:00.000Z')
    // Written straight into D1, as the job finds them: no door poked for them.
    await dueTasks(user.id, 1, at, 'Due')
    await runJobWith(at)
    expect(await live.next()).toMatchObject({ type: 'changed' })
    await expectQuiet(other.live)
  })
})
