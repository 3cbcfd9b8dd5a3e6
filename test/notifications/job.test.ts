/**
 * The reminder job records every reminder it takes in its owner's inbox, in the batch that marks the
 * reminder sent: once per reminder, with or without push, and within the per-user bound.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { MAX_NOTIFICATIONS_PER_USER } from '../../src/notifications/model'
import { saveSubscription } from '../../src/push/repo'
import { REMINDERS_PER_USER, type ReminderEnv, sendDueReminders } from '../../src/reminders/job'
import { newUserId, signIn } from '../helpers'
import { browserSubscription } from '../push/decrypt'
import { chromeEndpoint, received, routePushToLoopback, vapidSecret } from '../push/service'
import { clock, dueTasks, runJob, storedNotifications } from './seed'

const MINUTE = 60_000
const times = clock('2040-01-01T00:00:00.000Z')
let pushEnv: ReminderEnv

beforeAll(async () => {
  pushEnv = { DB: env.DB, VAPID_PRIVATE_KEY: await vapidSecret(), VAPID_SUBJECT: 'mailto:ops@example.com' }
})
beforeEach(() => {
  routePushToLoopback()
  vi.spyOn(console, 'log').mockImplementation(() => {})
})
afterEach(() => vi.restoreAllMocks())

const counts = (userId: string) =>
  env.DB.prepare('SELECT last_number, n FROM notification_counts WHERE user_id = ?1')
    .bind(userId)
    .first<{ last_number: number; n: number }>()

const markRead = (userId: string, numbers: number[]) =>
  env.DB.prepare(
    'UPDATE notifications SET is_read = 1 WHERE user_id = ?1 AND number IN (SELECT value FROM json_each(?2))',
  )
    .bind(userId, JSON.stringify(numbers))
    .run()

describe('the reminder job and the inbox', () => {
  it("records each due reminder once for the task's owner, with its title, description, id and number", async () => {
    const at = times.next()
    const user = newUserId()
    const [first, second] = await dueTasks(user, 2, at, 'Call')
    const taskNumbers = await env.DB.prepare('SELECT id, number FROM tasks WHERE user_id = ?1').bind(user).all()

    expect(await runJob(at)).toBe(0)
    await runJob(at + MINUTE)
    const stored = await storedNotifications(user)
    expect(stored).toEqual([
      {
        number: 1,
        task_id: first,
        task_number: (taskNumbers.results.find((t) => t.id === first) as { number: number }).number,
        title: 'Call 1',
        message: 'About 1',
        is_read: 0,
        sent_at: new Date(at).toISOString(),
      },
      expect.objectContaining({ number: 2, task_id: second, title: 'Call 2', message: 'About 2' }),
    ])
    const sent = await env.DB.prepare('SELECT count(*) AS n FROM task_reminders WHERE user_id = ?1 AND sent_at = ?2')
      .bind(user, new Date(at).toISOString())
      .first<number>('n')
    expect(sent).toBe(2)
    expect(await counts(user)).toEqual({ last_number: 2, n: 2 })
  })

  it('records it whether or not the user has a push subscription, and whether or not push is configured', async () => {
    const at = times.next()
    const [subscribed, unsubscribed, offline] = [newUserId(), newUserId(), newUserId()]
    for (const user of [subscribed, unsubscribed]) await dueTasks(user, 1, at)
    const browser = await browserSubscription(chromeEndpoint())
    await saveSubscription(env.DB, subscribed, browser.json, new Date().toISOString(), 10)
    expect(await sendDueReminders(pushEnv, at)).toBe(1)
    expect(await received(browser.json.endpoint)).toHaveLength(1)
    expect(await storedNotifications(subscribed)).toHaveLength(1)
    expect(await storedNotifications(unsubscribed)).toHaveLength(1)

    // A deployment without VAPID keys at all: the scheduled handler still fills the inbox.
    const later = times.next()
    await dueTasks(offline, 1, later)
    const ctx = createExecutionContext()
    await worker.scheduled(
      createScheduledController({ scheduledTime: later, cron: '* * * * *' }),
      { ...env, VAPID_PRIVATE_KEY: '', VAPID_SUBJECT: '' },
      ctx,
    )
    await waitOnExecutionContext(ctx)
    expect(await storedNotifications(offline)).toEqual([expect.objectContaining({ number: 1, title: 'Task 1' })])
  })

  it('records each reminder exactly once when runs overlap', async () => {
    const at = times.next()
    const users = [newUserId(), newUserId(), newUserId()]
    for (const [i, user] of users.entries()) await dueTasks(user, 30 + i * 20, at)
    await Promise.all([0, 1, 2, 3].map(() => runJob(at)))
    // Whatever the first runs left goes in the next one.
    await runJob(at + MINUTE)
    for (const [i, user] of users.entries()) {
      const stored = await storedNotifications(user)
      const expected = 30 + i * 20
      expect(stored.map((s) => s.number)).toEqual(Array.from({ length: expected }, (_, k) => k + 1))
      expect(new Set(stored.map((s) => s.task_id)).size).toBe(expected)
      expect(await counts(user)).toEqual({ last_number: expected, n: expected })
    }
  })

  it("records nothing for a completed task's reminder, and a new one when a reminder is re-armed", async () => {
    const at = times.next()
    const user = newUserId()
    const [done, open] = await dueTasks(user, 2, at)
    await env.DB.prepare(
      'UPDATE tasks SET completed = 1, completed_at = updated_at, version = version + 1 WHERE id = ?1',
    )
      .bind(done)
      .run()
    await runJob(at)
    expect((await storedNotifications(user)).map((s) => s.task_id)).toEqual([open])

    await env.DB.prepare('UPDATE tasks SET remind_at = ?2, version = version + 1 WHERE id = ?1')
      .bind(open, new Date(at + MINUTE).toISOString())
      .run()
    await runJob(at + MINUTE)
    expect((await storedNotifications(user)).map((s) => [s.number, s.task_id])).toEqual([
      [1, open],
      [2, open],
    ])
  })

  it('keeps what the task said when the reminder went out', async () => {
    const at = times.next()
    const user = await signIn()
    const task = await user.createTask({
      title: 'Before',
      description: 'Old words',
      remindAt: new Date(at - 1000).toISOString(),
    })
    await runJob(at)
    expect((await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { title: 'After' } })).status).toBe(200)
    expect((await user.request(`/tasks/${task.id}`, { method: 'DELETE' })).status).toBe(204)
    expect(await storedNotifications(user.id)).toEqual([
      expect.objectContaining({ title: 'Before', message: 'Old words', task_id: task.id, task_number: task.number }),
    ])
  })

  it(`keeps at most ${MAX_NOTIFICATIONS_PER_USER} per user: the oldest read ones go first, then the oldest`, async () => {
    const user = newUserId()
    const at = times.next()
    await dueTasks(user, MAX_NOTIFICATIONS_PER_USER, at)
    const runs = Math.ceil(MAX_NOTIFICATIONS_PER_USER / REMINDERS_PER_USER)
    for (let i = 0; i < runs; i++) await runJob(at + i * MINUTE)
    expect(await storedNotifications(user)).toHaveLength(MAX_NOTIFICATIONS_PER_USER)

    // Ten read ones in the middle, then fifteen more: the ten read go, then the five oldest unread.
    await markRead(user, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    const later = times.next()
    await dueTasks(user, 15, later)
    await runJob(later)
    const kept = (await storedNotifications(user)).map((s) => s.number)
    expect(kept).toEqual([6, 7, 8, 9, ...Array.from({ length: 115 - 19 }, (_, k) => k + 20)])
    expect(kept).toHaveLength(MAX_NOTIFICATIONS_PER_USER)
    expect(await counts(user)).toEqual({ last_number: 115, n: MAX_NOTIFICATIONS_PER_USER })

    // Past the bound with nothing read: the oldest go.
    const last = times.next()
    await dueTasks(user, 3, last)
    await runJob(last)
    const after = (await storedNotifications(user)).map((s) => s.number)
    expect(after.slice(0, 3)).toEqual([9, 20, 21])
    expect(after.at(-1)).toBe(118)
    expect(after).toHaveLength(MAX_NOTIFICATIONS_PER_USER)
  })

  it("trims only the user's own inbox", async () => {
    const [full, other] = [newUserId(), newUserId()]
    const at = times.next()
    await dueTasks(other, 3, at)
    await dueTasks(full, MAX_NOTIFICATIONS_PER_USER + 5, at)
    const runs = Math.ceil((MAX_NOTIFICATIONS_PER_USER + 5) / REMINDERS_PER_USER)
    for (let i = 0; i < runs; i++) await runJob(at + i * MINUTE)
    expect(await storedNotifications(full)).toHaveLength(MAX_NOTIFICATIONS_PER_USER)
    expect((await storedNotifications(other)).map((s) => s.number)).toEqual([1, 2, 3])
  })
})
