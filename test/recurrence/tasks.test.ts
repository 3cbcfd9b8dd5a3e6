/** Recurring tasks through the API: the successor a completion creates, exactly once. */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { countingDb, expectProblem, invalidNames, request, type SignedIn, signIn, tokenFor } from '../helpers'

interface RecurringTask {
  id: string
  title: string
  description: string
  priority: string
  tags: string[]
  completed: boolean
  dueAt: string | null
  remindAt: string | null
  timeZone: string
  recurrence: Record<string, unknown> | null
  nextTaskId: string | null
  version: number
}

const daily = { frequency: 'daily' }
const patch = (
  user: SignedIn,
  id: string,
  body: unknown,
  options: { env?: Partial<Env>; headers?: Record<string, string> } = {},
) => user.request(`/tasks/${id}`, { method: 'PATCH', body, ...options })
const get = async (user: SignedIn, id: string) => (await user.request(`/tasks/${id}`)).json<RecurringTask>()
const tasksOf = (userId: string) =>
  env.DB.prepare('SELECT id, due_at, completed FROM tasks WHERE user_id = ?1 ORDER BY due_at, id')
    .bind(userId)
    .all<{ id: string; due_at: string; completed: number }>()
    .then((r) => r.results)

/**
 * Runs the server at `iso` (the completion time a handler sees), and signs `user` in again then,
 * as a token from the real clock would have expired by that time.
 */
async function at(iso: string, user?: SignedIn): Promise<void> {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(new Date(iso))
  if (!user) return
  const token = await tokenFor(user.id)
  user.request = (path, options = {}) => request(path, { ...options, token })
}
afterEach(() => vi.useRealTimers())

async function create(user: SignedIn, body: Record<string, unknown>): Promise<RecurringTask> {
  const res = await user.request('/tasks', { method: 'POST', body: { title: 'Water the plants', ...body } })
  expect(res.status, await res.clone().text()).toBe(201)
  return res.json<RecurringTask>()
}

describe('recurrence fields', () => {
  it('defaults to no recurrence, UTC, no reminder and no successor', async () => {
    const user = await signIn()
    const task = await create(user, {})
    expect(task).toMatchObject({ recurrence: null, timeZone: 'UTC', remindAt: null, nextTaskId: null })
  })

  it("stores the rule with its defaults filled in, the weekly weekday taken from the due date in the task's zone", async () => {
    const user = await signIn()
    // Monday 00:30 in Berlin, still Sunday in UTC.
    const task = await create(user, {
      dueAt: '2027-01-03T23:30:00Z',
      timeZone: 'europe/berlin',
      recurrence: { frequency: 'weekly' },
    })
    expect(task.timeZone).toBe('Europe/Berlin')
    expect(task.recurrence).toEqual({ frequency: 'weekly', interval: 1, weekdays: ['mo'], until: null, count: null })
    expect(await get(user, task.id)).toEqual(task)
  })

  it('refuses a recurrence without a due date, an unknown zone and a bad rule with 400, storing nothing', async () => {
    const user = await signIn()
    for (const [body, name] of [
      [{ recurrence: daily }, '#/recurrence'],
      [{ dueAt: '2027-01-01T09:00:00Z', timeZone: 'Mars/Olympus', recurrence: daily }, '#/timeZone'],
      [{ dueAt: '2027-01-01T09:00:00Z', recurrence: { frequency: 'hourly' } }, '#/recurrence/frequency'],
      [{ dueAt: '2027-01-01T09:00:00Z', recurrence: { frequency: 'daily', interval: 0 } }, '#/recurrence/interval'],
      [
        { dueAt: '2027-01-01T09:00:00Z', recurrence: { frequency: 'monthly', weekdays: ['mo'] } },
        '#/recurrence/weekdays',
      ],
      [{ remindAt: 'soon' }, '#/remindAt'],
    ] as const) {
      const res = await user.request('/tasks', { method: 'POST', body: { title: 'x', ...body } })
      expect(invalidNames(await expectProblem(res, 400)), JSON.stringify(body)).toContain(name)
    }
    expect(await tasksOf(user.id)).toEqual([])
  })

  it('refuses clearing the due date of a recurring task, and changes nothing', async () => {
    const user = await signIn()
    const task = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    expect(invalidNames(await expectProblem(await patch(user, task.id, { dueAt: null }), 400))).toContain('#/dueAt')
    expect(await get(user, task.id)).toEqual(task)
    // Clearing both at once is fine.
    expect((await patch(user, task.id, { dueAt: null, recurrence: null })).status).toBe(200)
  })
})

describe('completing a recurring task', () => {
  it('creates the next occurrence, with the same fields and the reminder at the same offset', async () => {
    const user = await signIn()
    await at('2027-03-27T08:10:00Z', user)
    const task = await create(user, {
      description: 'The balcony ones',
      priority: 'high',
      tags: ['home'],
      dueAt: '2027-03-27T08:00:00Z',
      remindAt: '2027-03-27T07:45:00Z',
      timeZone: 'Europe/Berlin',
      recurrence: daily,
    })
    const res = await patch(user, task.id, { completed: true })
    expect(res.status).toBe(200)
    const done = await res.json<RecurringTask>()
    expect(done.nextTaskId).toEqual(expect.any(String))
    expect(res.headers.get('ETag')).toBe(`"v${done.version}"`)
    const next = await user.request(`/tasks/${done.nextTaskId}`)
    expect(next.headers.get('ETag')).toBe('"v1"')
    expect(await next.json()).toMatchObject({
      title: 'Water the plants',
      description: 'The balcony ones',
      priority: 'high',
      tags: ['home'],
      completed: false,
      // 9:00 in Berlin, now in summer time; the reminder still 15 minutes before.
      dueAt: '2027-03-28T07:00:00.000Z',
      remindAt: '2027-03-28T06:45:00.000Z',
      timeZone: 'Europe/Berlin',
      recurrence: task.recurrence,
      nextTaskId: null,
    })
    expect((await tasksOf(user.id)).map((t) => t.id)).toEqual([task.id, done.nextTaskId])
  })

  it('creates it through PUT too', async () => {
    const user = await signIn()
    await at('2027-01-01T10:00:00Z', user)
    const task = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    const res = await user.request(`/tasks/${task.id}`, {
      method: 'PUT',
      body: { title: task.title, dueAt: task.dueAt, recurrence: daily, completed: true },
    })
    expect(res.status).toBe(200)
    const { nextTaskId } = await res.json<RecurringTask>()
    expect((await get(user, nextTaskId!)).dueAt).toBe('2027-01-02T09:00:00.000Z')
  })

  it('is due after the completion time when finished late: one successor, not a trail of overdue ones', async () => {
    const user = await signIn()
    await at('2027-01-04T10:00:00Z', user)
    const task = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    const { nextTaskId } = await (await patch(user, task.id, { completed: true })).json<RecurringTask>()
    expect((await get(user, nextTaskId!)).dueAt).toBe('2027-01-05T09:00:00.000Z')
    expect(await tasksOf(user.id)).toHaveLength(2)
  })

  it('creates exactly one successor under 20 concurrent completions', async () => {
    const user = await signIn()
    const task = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    const responses = await Promise.all(Array.from({ length: 20 }, () => patch(user, task.id, { completed: true })))
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200))
    const successors = new Set(
      (await Promise.all(responses.map((r) => r.json<RecurringTask>()))).map((t) => t.nextTaskId),
    )
    expect(successors.size).toBe(1)
    expect(await tasksOf(user.id)).toHaveLength(2)
  })

  it('creates exactly one successor across complete, un-complete and complete', async () => {
    const user = await signIn()
    const task = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    const first = await (await patch(user, task.id, { completed: true })).json<RecurringTask>()
    const reopened = await (await patch(user, task.id, { completed: false })).json<RecurringTask>()
    expect(reopened.nextTaskId).toBe(first.nextTaskId)
    const again = await (await patch(user, task.id, { completed: true })).json<RecurringTask>()
    expect(again.nextTaskId).toBe(first.nextTaskId)
    expect(await tasksOf(user.id)).toHaveLength(2)
  })

  it("refuses the completion with the quota's 409 when the successor would exceed it, and changes nothing", async () => {
    const user = await signIn()
    const quota = { TASK_QUOTA: '2' }
    const task = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    await create(user, {})
    const problem = await expectProblem(
      await patch(user, task.id, { completed: true, title: 'Done' }, { env: quota }),
      409,
    )
    expect(problem.type).toBe('/problems/quota-exceeded')
    expect(await get(user, task.id)).toEqual(task)
    expect(await tasksOf(user.id)).toHaveLength(2)
    // A task that does not recur completes as before.
    const plain = (await tasksOf(user.id)).find((t) => t.id !== task.id)!
    expect((await patch(user, plain.id, { completed: true }, { env: quota })).status).toBe(200)
  })

  it('creates no successor past count or until, or once the recurrence is removed', async () => {
    const user = await signIn()
    for (const recurrence of [
      { frequency: 'daily', count: 1 },
      { frequency: 'daily', until: '2027-01-01T12:00:00Z' },
    ]) {
      const task = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence })
      expect((await (await patch(user, task.id, { completed: true })).json<RecurringTask>()).nextTaskId).toBeNull()
    }
    const ended = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    expect((await patch(user, ended.id, { recurrence: null })).status).toBe(200)
    expect((await (await patch(user, ended.id, { completed: true })).json<RecurringTask>()).nextTaskId).toBeNull()
    expect(await tasksOf(user.id)).toHaveLength(3)
  })

  it('ends the series when the open task is deleted: nothing is created after it', async () => {
    const user = await signIn()
    const task = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    const done = await (await patch(user, task.id, { completed: true })).json<RecurringTask>()
    expect((await user.request(`/tasks/${done.nextTaskId}`, { method: 'DELETE' })).status).toBe(204)
    expect((await tasksOf(user.id)).map((t) => t.id)).toEqual([task.id])
    // The completed task keeps its link; completing it again creates no new successor.
    expect((await (await patch(user, task.id, { completed: true })).json<RecurringTask>()).nextTaskId).toBe(
      done.nextTaskId,
    )
    expect(await tasksOf(user.id)).toHaveLength(1)
  })

  it('creates nothing when the completion fails its If-Match or is for another user', async () => {
    const [owner, other] = [await signIn(), await signIn()]
    const task = await create(owner, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    await expectProblem(await patch(owner, task.id, { completed: true }, { headers: { 'If-Match': '"v9"' } }), 412)
    await expectProblem(await patch(other, task.id, { completed: true }), 403)
    expect(await get(owner, task.id)).toEqual(task)
    expect(await tasksOf(owner.id)).toHaveLength(1)
  })

  it('costs two D1 round trips: the read that plans the successor, and one batch that writes both', async () => {
    const user = await signIn()
    const task = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    const { db, counter } = countingDb(env.DB)
    const res = await patch(user, task.id, { completed: true }, { env: { DB: db } })
    expect(res.status).toBe(200)
    expect(counter.roundTrips).toBe(2)
    // Editing a recurring task without moving its series stays at one.
    const edit = countingDb(env.DB)
    expect((await patch(user, task.id, { title: 'Renamed' }, { env: { DB: edit.db } })).status).toBe(200)
    expect(edit.counter.roundTrips).toBe(1)
  })

  it('puts both tasks in the sync feed', async () => {
    const user = await signIn()
    const task = await create(user, { dueAt: '2027-01-01T09:00:00Z', recurrence: daily })
    const { token } = await (await user.request('/tasks/changes')).json<{ token: string }>()
    const { nextTaskId } = await (await patch(user, task.id, { completed: true })).json<RecurringTask>()
    const page = await (await user.request(`/tasks/changes?since=${token}`)).json<{ tasks: RecurringTask[] }>()
    expect(page.tasks.map((t) => t.id).sort()).toEqual([task.id, nextTaskId].sort())
  })

  it('keeps every weekday at 9:00 in Berlin when completed on time, late, and twice', async () => {
    const user = await signIn()
    const weekdays = ['mo', 'tu', 'we', 'th', 'fr']
    // Thursday 2027-03-25, 9:00 CET; summer time starts on Sunday the 28th.
    const first = await create(user, {
      dueAt: '2027-03-25T08:00:00Z',
      remindAt: '2027-03-25T07:45:00Z',
      timeZone: 'Europe/Berlin',
      recurrence: { frequency: 'weekly', weekdays },
    })
    await at('2027-03-25T08:05:00Z', user)
    const onTime = await get(
      user,
      (await (await patch(user, first.id, { completed: true })).json<RecurringTask>()).nextTaskId!,
    )
    expect(onTime.dueAt).toBe('2027-03-26T08:00:00.000Z')
    // Friday's finished on Monday at 10:00 CEST.
    await at('2027-03-29T08:00:00Z', user)
    const late = await get(
      user,
      (await (await patch(user, onTime.id, { completed: true })).json<RecurringTask>()).nextTaskId!,
    )
    expect([late.dueAt, late.remindAt]).toEqual(['2027-03-30T07:00:00.000Z', '2027-03-30T06:45:00.000Z'])
    // Twice: the second completion finds the successor already made.
    await at('2027-03-30T07:10:00Z', user)
    const once = await (await patch(user, late.id, { completed: true })).json<RecurringTask>()
    const twice = await (await patch(user, late.id, { completed: true })).json<RecurringTask>()
    expect(twice.nextTaskId).toBe(once.nextTaskId)
    expect((await get(user, once.nextTaskId!)).dueAt).toBe('2027-03-31T07:00:00.000Z')
    expect(await tasksOf(user.id)).toHaveLength(4)
  })
})
