/** Recurrence and reminders on the /api routes (src/compat/): the frontends' names for them, attacked. */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { type ApiTask, apiTask } from '../../src/compat/task'
import { expectProblem, type SignedIn, signIn } from '../helpers'

let user: SignedIn
beforeEach(async () => {
  user = await signIn()
})

const DUE = '2027-03-01T09:00:00.000Z'

const post = (body: Record<string, unknown>) =>
  user.request('/api/tasks', { method: 'POST', body: { title: 'A task', ...body } })

const create = async (body: Record<string, unknown>): Promise<ApiTask> => {
  const res = await post(body)
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(201)
  const task = await res.json<ApiTask>()
  expect(apiTask.safeParse(task).success).toBe(true)
  return task
}

const stored = (number: number) =>
  env.DB.prepare('SELECT * FROM tasks WHERE user_id = ?1 AND number = ?2')
    .bind(user.id, number)
    .first<Record<string, unknown>>()

const ruleOf = async (number: number) => JSON.parse(String((await stored(number))!.recurrence ?? 'null'))

const countOf = async () =>
  (await env.DB.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1').bind(user.id).first<{ n: number }>())!.n

describe('recurrence on /api', () => {
  it('shows a task without a rule as recurrence none, and a rule as its frequency and interval', async () => {
    const plain = await create({})
    expect(plain).toMatchObject({
      recurrence: 'none',
      recurrence_interval: null,
      time_zone: 'UTC',
      next_task_id: null,
      remind_at: null,
    })
    const weekly = await create({
      due_date: DUE,
      recurrence: 'WEEKLY',
      recurrence_interval: 2,
      time_zone: 'Europe/Berlin',
    })
    expect(weekly).toMatchObject({ recurrence: 'weekly', recurrence_interval: 2, time_zone: 'Europe/Berlin' })
    expect(await ruleOf(weekly.id)).toEqual({
      frequency: 'weekly',
      interval: 2,
      weekdays: ['mo'],
      until: null,
      count: null,
    })
    expect((await stored(weekly.id))!.time_zone).toBe('Europe/Berlin')
  })

  it('takes the rule as the main API object, as recurrence_pattern, and as is_recurring with recurrence', async () => {
    const object = await create({ due_date: DUE, recurrence: { frequency: 'monthly', count: 3 } })
    expect(await ruleOf(object.id)).toEqual({
      frequency: 'monthly',
      interval: 1,
      weekdays: null,
      until: null,
      count: 3,
    })
    const pattern = await create({ due_date: DUE, recurrence_pattern: 'yearly' })
    expect(pattern).toMatchObject({ recurrence: 'yearly', recurrence_interval: 1 })
    const flagged = await create({ due_date: DUE, is_recurring: true, recurrence: 'daily' })
    expect(flagged.recurrence).toBe('daily')
    const off = await create({ due_date: DUE, is_recurring: false, recurrence: 'daily' })
    expect(off.recurrence).toBe('none')
    expect(await ruleOf(off.id)).toBeNull()
  })

  it('sets and ends a rule by PUT and PATCH, keeping the stored count when the frequency is sent back unchanged', async () => {
    const task = await create({ due_date: DUE, recurrence: { frequency: 'daily', count: 5 } })
    const echoed = await user.request(`/api/tasks/${task.id}`, { method: 'PUT', body: { ...task, title: 'Edited' } })
    expect(echoed.status).toBe(200)
    expect(await ruleOf(task.id)).toEqual({ frequency: 'daily', interval: 1, weekdays: null, until: null, count: 5 })
    const every3 = await user.request(`/api/tasks/${task.id}`, { method: 'PATCH', body: { recurrence_interval: 3 } })
    expect(await every3.json()).toMatchObject({ recurrence: 'daily', recurrence_interval: 3 })
    expect(await ruleOf(task.id)).toMatchObject({ interval: 3, count: 5 })
    const weekly = await user.request(`/api/tasks/${task.id}`, {
      method: 'PATCH',
      body: { recurrence_pattern: 'weekly' },
    })
    expect(await weekly.json()).toMatchObject({ recurrence: 'weekly', recurrence_interval: 1 })
    const none = await user.request(`/api/tasks/${task.id}`, { method: 'PUT', body: { recurrence: 'none' } })
    expect(await none.json()).toMatchObject({ recurrence: 'none', recurrence_interval: null })
    expect(await ruleOf(task.id)).toBeNull()
  })

  it('answers 422 and stores nothing for a wrong enum, interval, zone, a rule without a due date, and contradictions', async () => {
    const bodies: [Record<string, unknown>, string][] = [
      [{ due_date: DUE, recurrence: 'hourly' }, 'recurrence'],
      [{ due_date: DUE, recurrence: 7 }, 'recurrence'],
      [{ due_date: DUE, recurrence: { frequency: 'daily', interval: 0 } }, 'recurrence.interval'],
      [{ due_date: DUE, recurrence: 'daily', recurrence_interval: 367 }, 'recurrence_interval'],
      [{ due_date: DUE, recurrence: 'daily', recurrence_interval: '2' }, 'recurrence_interval'],
      [{ due_date: DUE, recurrence: 'daily', time_zone: 'Mars/Olympus' }, 'time_zone'],
      [{ recurrence: 'daily' }, 'recurrence'],
      [{ due_date: DUE, recurrence: 'daily', recurrence_pattern: 'weekly' }, 'recurrence_pattern'],
      [{ due_date: DUE, is_recurring: true }, 'is_recurring'],
      [{ due_date: DUE, is_recurring: 'yes', recurrence: 'daily' }, 'is_recurring'],
      [{ due_date: DUE, recurrence_interval: 2 }, 'recurrence_interval'],
    ]
    for (const [body, field] of bodies) {
      const problem = await expectProblem(await post(body), 422)
      expect(problem.detail, JSON.stringify(body)).toContain(`${field}:`)
      expect(problem.errors!.length, JSON.stringify(body)).toBeGreaterThan(0)
    }
    expect(await countOf()).toBe(0)
  })

  it('answers 422 and changes nothing for a PATCH of the interval on a task without a rule', async () => {
    const task = await create({ due_date: DUE })
    const problem = await expectProblem(
      await user.request(`/api/tasks/${task.id}`, { method: 'PATCH', body: { recurrence_interval: 2 } }),
      422,
    )
    expect(problem.detail).toContain('recurrence_interval:')
    expect(await stored(task.id)).toMatchObject({ recurrence: null, version: 1 })
  })
})

describe('completing a recurring task on /api', () => {
  it('creates the successor once through the toggle without a body, twice, and shows its number as next_task_id', async () => {
    const task = await create({ due_date: DUE, recurrence: 'daily' })
    const done = await user.request(`/api/tasks/${task.id}/toggle`, { method: 'PATCH' })
    expect(done.status).toBe(200)
    const completed = await done.json<ApiTask>()
    expect(completed).toMatchObject({ completed: true, next_task_id: task.id + 1 })
    expect(typeof completed.next_task_id).toBe('number')
    const next = await stored(task.id + 1)
    expect(next).toMatchObject({ completed: 0, due_at: '2027-03-02T09:00:00.000Z' })
    expect((await stored(task.id))!.next_task_id).toBe(next!.id)
    const main = await user.request(`/tasks/${(await stored(task.id))!.id}`)
    expect(await main.json()).toMatchObject({ nextTaskId: next!.id, nextTaskNumber: task.id + 1 })
    // The same toggle again reopens it; a third completes it again, without a second successor.
    expect(await (await user.request(`/api/tasks/${task.id}/toggle`, { method: 'PATCH' })).json()).toMatchObject({
      completed: false,
      next_task_id: task.id + 1,
    })
    await user.request(`/api/tasks/${task.id}/toggle`, { method: 'PATCH' })
    expect(await countOf()).toBe(2)
    expect(await (await user.request(`/api/tasks/${task.id}`)).json()).toMatchObject({ next_task_id: task.id + 1 })
  })

  it('creates the successor through PUT and PATCH, as the main API does', async () => {
    for (const method of ['PUT', 'PATCH']) {
      const task = await create({ due_date: DUE, recurrence: 'weekly' })
      const res = await user.request(`/api/tasks/${task.id}`, { method, body: { ...task, completed: true } })
      expect(res.status).toBe(200)
      const body = await res.json<ApiTask>()
      expect(body.next_task_id).toBe(task.id + 1)
      expect(await stored(task.id + 1)).toMatchObject({ due_at: '2027-03-08T09:00:00.000Z', completed: 0 })
      // The successor shows the same rule, and is listed with it.
      const list = await (await user.request('/api/tasks')).json<ApiTask[]>()
      expect(list.find((t) => t.id === task.id + 1)).toMatchObject({ recurrence: 'weekly', next_task_id: null })
    }
    expect(await countOf()).toBe(4)
  })
})

describe('reminders on /api', () => {
  it('takes remind_at, reminder_at and reminder_time as the same field, a date alone at 00:00 UTC', async () => {
    for (const name of ['remind_at', 'reminder_at', 'reminder_time']) {
      const task = await create({ [name]: '2027-02-28T08:45:00+01:00' })
      expect(task.remind_at, name).toBe('2027-02-28T07:45:00.000Z')
      expect((await stored(task.id))!.remind_at).toBe('2027-02-28T07:45:00.000Z')
    }
    expect((await create({ reminder_time: '2027-02-28' })).remind_at).toBe('2027-02-28T00:00:00.000Z')
    const task = await create({ remind_at: DUE })
    const cleared = await user.request(`/api/tasks/${task.id}`, { method: 'PATCH', body: { reminder_at: null } })
    expect((await cleared.json<ApiTask>()).remind_at).toBeNull()
  })

  it('takes reminder_offset_minutes before the due date of the body, or of the stored task', async () => {
    const task = await create({ due_date: DUE, reminder_offset_minutes: 15 })
    expect(task.remind_at).toBe('2027-03-01T08:45:00.000Z')
    const res = await user.request(`/api/tasks/${task.id}`, { method: 'PATCH', body: { reminder_offset_minutes: 60 } })
    expect((await res.json<ApiTask>()).remind_at).toBe('2027-03-01T08:00:00.000Z')
    expect((await stored(task.id))!.remind_at).toBe('2027-03-01T08:00:00.000Z')
  })

  it('answers 422 and changes nothing for an offset without a due date, a bad offset, and two different reminders', async () => {
    const bodies: [Record<string, unknown>, string][] = [
      [{ reminder_offset_minutes: 15 }, 'reminder_offset_minutes'],
      [{ due_date: null, reminder_offset_minutes: 15 }, 'reminder_offset_minutes'],
      [{ due_date: DUE, reminder_offset_minutes: -1 }, 'reminder_offset_minutes'],
      [{ due_date: DUE, reminder_offset_minutes: 1.5 }, 'reminder_offset_minutes'],
      [{ due_date: DUE, reminder_offset_minutes: '15' }, 'reminder_offset_minutes'],
      [{ due_date: DUE, reminder_offset_minutes: 15, remind_at: DUE }, 'reminder_offset_minutes'],
      [{ remind_at: DUE, reminder_time: '2027-01-01T00:00:00Z' }, 'reminder_time'],
      [{ remind_at: 'soon' }, 'remind_at'],
    ]
    for (const [body, field] of bodies) {
      const problem = await expectProblem(await post(body), 422)
      expect(problem.detail, JSON.stringify(body)).toContain(`${field}:`)
    }
    expect(await countOf()).toBe(0)
    const task = await create({})
    const problem = await expectProblem(
      await user.request(`/api/tasks/${task.id}`, { method: 'PATCH', body: { reminder_offset_minutes: 15 } }),
      422,
    )
    expect(problem.detail).toContain('reminder_offset_minutes:')
    expect(await stored(task.id)).toMatchObject({ remind_at: null, version: 1 })
  })
})
