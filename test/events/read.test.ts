/**
 * Reading the event log: GET /tasks/events, GET /tasks/{id}/events and their /api twins; paging,
 * isolation between users, scopes; retention and the bound per user; erasure and export.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { TaskEvent } from '../../src/events/model'
import worker from '../../src/index'
import type { Task } from '../../src/tasks/model'
import { API_RESOURCE, apiAccessToken, expectProblem, request, type SignedIn, signIn } from '../helpers'

interface Page {
  items: TaskEvent[]
  next: number
  hasMore: boolean
}

async function page(user: SignedIn, path: string): Promise<Page> {
  const res = await user.request(path)
  expect(res.status, await res.clone().text()).toBe(200)
  return res.json<Page>()
}

/** Three events: a create, an update and a completion. */
async function threeEvents(user: SignedIn): Promise<Task> {
  const task = await user.createTask({ title: 'paged' })
  await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { title: 'paged, renamed' } })
  await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { completed: true } })
  return task
}

describe('GET /tasks/events', () => {
  it('pages oldest first with after and limit, next and hasMore, and polls on from next', async () => {
    const user = await signIn()
    await threeEvents(user)
    const first = await page(user, '/tasks/events?limit=2')
    expect(first.items.map((e) => e.type)).toEqual(['task.created', 'task.updated'])
    expect(first).toMatchObject({ hasMore: true, next: first.items[1]!.seq })
    const second = await page(user, `/tasks/events?limit=2&after=${first.next}`)
    expect(second.items.map((e) => e.type)).toEqual(['task.completed'])
    expect(second).toMatchObject({ hasMore: false, next: second.items[0]!.seq })
    const empty = await page(user, `/tasks/events?after=${second.next}`)
    expect(empty).toEqual({ items: [], next: second.next, hasMore: false })
    // A later change shows up from the same `next`.
    await user.createTask({ title: 'later' })
    expect((await page(user, `/tasks/events?after=${second.next}`)).items.map((e) => e.type)).toEqual(['task.created'])
  })

  it("shows only the caller's events, and none of another user's", async () => {
    const [user, other] = [await signIn(), await signIn()]
    await threeEvents(other)
    expect(await page(user, '/tasks/events')).toEqual({ items: [], next: 0, hasMore: false })
    await user.createTask({ title: 'mine' })
    const mine = await page(user, '/tasks/events')
    expect(mine.items.map((e) => e.task.title)).toEqual(['mine'])
  })

  it('refuses bad parameters with a 400 naming each', async () => {
    const user = await signIn()
    for (const query of ['after=-1', 'after=abc', 'limit=0', 'limit=101', 'after=1&after=2', 'user_id=x']) {
      const problem = await expectProblem(await user.request(`/tasks/events?${query}`), 400)
      expect(problem.errors?.length, query).toBeGreaterThan(0)
    }
  })

  it('needs a token, and tasks:read on an access token', async () => {
    await expectProblem(await request('/tasks/events'), 401)
    const user = await signIn()
    const api = API_RESOURCE
    const token = (scope: string) => apiAccessToken(user.id, scope)
    const writeOnly = await token('tasks:write')
    await expectProblem(await request('/tasks/events', { token: writeOnly, env: api }), 403)
    await expectProblem(await request(`/api/${user.id}/events`, { token: writeOnly, env: api }), 403)
    expect((await request('/tasks/events', { token: await token('tasks:read'), env: api })).status).toBe(200)
  })

  it('answers 405 to other methods, and leaves GET /tasks/{id} as it was', async () => {
    const user = await signIn()
    const task = await user.createTask()
    const res = await user.request('/tasks/events', { method: 'POST', body: {} })
    await expectProblem(res, 405)
    expect(res.headers.get('Allow')).toBe('GET, HEAD')
    await expectProblem(await user.request(`/tasks/${task.id}/events`, { method: 'DELETE' }), 405)
    expect(await (await user.request(`/tasks/${task.id}`)).json()).toEqual(task)
    expect((await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { title: 'still works' } })).status).toBe(
      200,
    )
  })
})

describe('GET /tasks/{id}/events', () => {
  it("is one task's history, also once it is deleted", async () => {
    const user = await signIn()
    const task = await threeEvents(user)
    const other = await user.createTask({ title: 'another task' })
    expect((await user.request(`/tasks/${task.id}`, { method: 'DELETE' })).status).toBe(204)
    const history = await page(user, `/tasks/${task.id}/events`)
    expect(history.items.map((e) => e.type)).toEqual(['task.created', 'task.updated', 'task.completed', 'task.deleted'])
    expect(history.items.every((e) => e.taskId === task.id)).toBe(true)
    const paged = await page(user, `/tasks/${task.id}/events?limit=3`)
    expect(paged).toMatchObject({ hasMore: true, next: history.items[2]!.seq })
    expect((await page(user, `/tasks/${other.id}/events`)).items.map((e) => e.type)).toEqual(['task.created'])
  })

  it("answers 403 for another user's task and 404 for none, and shows nothing of either", async () => {
    const [user, other] = [await signIn(), await signIn()]
    const theirs = await other.createTask()
    const forbidden = await expectProblem(await user.request(`/tasks/${theirs.id}/events`), 403)
    expect(JSON.stringify(forbidden)).not.toContain(theirs.title)
    await expectProblem(await user.request(`/tasks/${crypto.randomUUID()}/events`), 404)
    await expectProblem(await user.request('/tasks/not-a-uuid/events'), 404)
  })
})

describe('the /api twins', () => {
  it('serve the log and a task’s history in snake_case, the task named by its number, with and without user_id', async () => {
    const user = await signIn()
    await threeEvents(user)
    for (const prefix of [`/api/${user.id}`, '/api']) {
      const res = await user.request(`${prefix}/events?limit=2`)
      expect(res.status).toBe(200)
      const body = await res.json<{ events: Record<string, unknown>[]; next: number; has_more: boolean }>()
      expect(body.has_more).toBe(true)
      expect(body.events[0]).toMatchObject({
        type: 'task.created',
        task_id: 1,
        door: 'rest',
        client_id: null,
        task: { id: 1, user_id: user.id, title: 'paged', completed: false },
      })
      expect(Object.keys(body.events[0]!).sort()).toEqual(
        ['client_id', 'created_at', 'door', 'id', 'seq', 'task', 'task_id', 'type'].sort(),
      )
      const history = await (await user.request(`${prefix}/tasks/1/events?after=${body.next}`)).json<{
        events: { type: string }[]
      }>()
      expect(history.events.map((e) => e.type)).toEqual(['task.completed'])
    }
  })

  it("refuse another user's id with 403 and an unknown number with 404, and bad parameters with 422", async () => {
    const [user, other] = [await signIn(), await signIn()]
    await other.createTask()
    await expectProblem(await user.request(`/api/${other.id}/events`), 403)
    await expectProblem(await user.request(`/api/${other.id}/tasks/1/events`), 403)
    await expectProblem(await user.request('/api/tasks/1/events'), 404)
    await expectProblem(await user.request('/api/events?limit=0'), 422)
    await expectProblem(await user.request('/api/events?after=x'), 422)
  })
})

describe('retention and the bound per user (the hourly purge)', () => {
  const HOURLY = '17 * * * *'
  const purge = async (time: number, overrides: Partial<Env> = {}) => {
    const ctx = createExecutionContext()
    await worker.scheduled(
      createScheduledController({ cron: HOURLY, scheduledTime: time }),
      { ...env, ...overrides },
      ctx,
    )
    await waitOnExecutionContext(ctx)
  }
  const DAY = 24 * 60 * 60 * 1000

  it('purges the events older than EVENT_RETENTION_DAYS, judged by the scheduled time, and keeps the rest', async () => {
    const user = await signIn()
    await threeEvents(user)
    const events = (await page(user, '/tasks/events')).items
    // Age the first two events by SQL: the log's own clock is the write's.
    await env.DB.prepare(
      "UPDATE task_events SET created_at = '2020-01-01T00:00:00.000Z' WHERE user_id = ?1 AND seq <= ?2",
    )
      .bind(user.id, events[1]!.seq)
      .run()
    await purge(Date.now())
    expect((await page(user, '/tasks/events')).items.map((e) => e.seq)).toEqual([events[2]!.seq])
    // Ninety days after the last one, it goes too; one day short, it stays.
    const last = Date.parse(events[2]!.createdAt)
    await purge(last + 89 * DAY)
    expect((await page(user, '/tasks/events')).items).toHaveLength(1)
    await purge(last + 91 * DAY)
    expect((await page(user, '/tasks/events')).items).toHaveLength(0)
  })

  it('honours EVENT_RETENTION_DAYS, and keeps only the EVENTS_PER_USER newest of each user', async () => {
    const [user, other] = [await signIn(), await signIn()]
    await threeEvents(user)
    await user.createTask({ title: 'fourth' })
    await threeEvents(other)
    await purge(Date.now(), { EVENTS_PER_USER: '2' } as Partial<Env>)
    expect((await page(user, '/tasks/events')).items.map((e) => e.type)).toEqual(['task.completed', 'task.created'])
    expect((await page(other, '/tasks/events')).items.map((e) => e.type)).toEqual(['task.updated', 'task.completed'])
    await purge(Date.now() + 2 * DAY, { EVENT_RETENTION_DAYS: '1' } as Partial<Env>)
    expect((await page(user, '/tasks/events')).items).toEqual([])
  })

  it('fails the purge, and deletes nothing, when the settings are bad', async () => {
    const user = await signIn()
    await threeEvents(user)
    await expect(purge(Date.now() + 1000 * DAY, { EVENT_RETENTION_DAYS: 'ninety' } as Partial<Env>)).rejects.toThrow(
      /events/,
    )
    expect((await page(user, '/tasks/events')).items).toHaveLength(3)
  })
})

describe('erasure and export', () => {
  it('erases the log with the account, logging no deletions, and leaves other users’ logs alone', async () => {
    const [user, other] = [await signIn(), await signIn()]
    await threeEvents(user)
    await threeEvents(other)
    expect((await user.request('/me', { method: 'DELETE' })).status).toBe(204)
    const { n } = (await env.DB.prepare('SELECT count(*) AS n FROM task_events WHERE user_id = ?1')
      .bind(user.id)
      .first<{ n: number }>())!
    expect(n).toBe(0)
    expect((await page(other, '/tasks/events')).items).toHaveLength(3)
  })

  it('exports the log after the tasks, oldest first', async () => {
    const user = await signIn()
    await threeEvents(user)
    const events = (await page(user, '/tasks/events')).items
    const body = await (await user.request('/me/export')).json<{ tasks: Task[]; events: TaskEvent[] }>()
    expect(body.events).toEqual(events)
    expect(body.tasks).toHaveLength(1)
  })
})
