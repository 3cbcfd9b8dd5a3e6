import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import { saveSubscription } from '../../src/push/repo'
import { PUSHES_PER_RUN, RETRY_WINDOW_MS, type ReminderEnv, sendDueReminders } from '../../src/reminders/job'
import { newUserId, nowSeconds, signIn } from '../helpers'
import { type BrowserSubscription, browserSubscription, decryptPush, verifyVapid } from '../push/decrypt'
import { chromeEndpoint, received, routePushToLoopback, vapidSecret } from '../push/service'

const MINUTE = 60_000
const SUBJECT = 'mailto:ops@example.com'
let pushEnv: ReminderEnv

beforeAll(async () => {
  pushEnv = { DB: env.DB, VAPID_PRIVATE_KEY: await vapidSecret(), VAPID_SUBJECT: SUBJECT }
})
beforeEach(() => {
  routePushToLoopback()
})
afterEach(() => vi.restoreAllMocks())

// Claims span all users: each test runs at its own time, days from the others, so no test's
// reminders fall within another's claim window.
let era = Date.parse('2031-01-01T00:00:00.000Z')
const nextEra = () => {
  era += 10 * 24 * 60 * MINUTE
  return era
}

async function seedTask(
  userId: string,
  fields: { remindAt: number; dueAt?: number; completed?: boolean; title?: string },
) {
  const id = crypto.randomUUID()
  const created = new Date(fields.remindAt - 60 * MINUTE).toISOString()
  await env.DB.prepare(
    `INSERT INTO tasks (id, user_id, title, completed, due_at, remind_at, created_at, updated_at, completed_at, number)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, CASE WHEN ?4 = 1 THEN ?7 END,
             coalesce((SELECT last_number FROM task_counts WHERE user_id = ?2), 0) + 1)`,
  )
    .bind(
      id,
      userId,
      fields.title ?? 'Call the dentist',
      fields.completed ? 1 : 0,
      fields.dueAt === undefined ? null : new Date(fields.dueAt).toISOString(),
      new Date(fields.remindAt).toISOString(),
      created,
    )
    .run()
  return id
}

async function subscribe(userId: string, status?: number): Promise<BrowserSubscription> {
  const browser = await browserSubscription(chromeEndpoint(status))
  await saveSubscription(env.DB, userId, browser.json, new Date().toISOString(), 10)
  return browser
}

const sentAt = async (taskId: string) =>
  (
    await env.DB.prepare('SELECT sent_at FROM task_reminders WHERE task_id = ?1')
      .bind(taskId)
      .first<{ sent_at: string | null }>()
  )?.sent_at

describe('the reminder job', () => {
  it('sends a due reminder once, encrypted for the subscription and signed for the push service', async () => {
    const now = nextEra()
    const user = newUserId()
    const dueAt = now + 15 * MINUTE
    const taskId = await seedTask(user, { remindAt: now - MINUTE, dueAt, title: 'Stand-up' })
    const browser = await subscribe(user)

    expect(await sendDueReminders(pushEnv, now)).toBe(1)
    expect(await sendDueReminders(pushEnv, now + MINUTE)).toBe(0)

    const pushes = await received(browser.json.endpoint)
    expect(pushes).toHaveLength(1)
    expect(pushes[0]!.headers).toMatchObject({ urgency: 'high', ttl: '3600', 'content-encoding': 'aes128gcm' })
    const payload = JSON.parse(
      new TextDecoder().decode(
        await decryptPush(pushes[0]!.bytes, { privateKey: browser.privateKey, keys: browser.json.keys }),
      ),
    )
    expect(payload).toEqual({
      taskId,
      title: 'Stand-up',
      dueAt: new Date(dueAt).toISOString(),
      remindAt: new Date(now - MINUTE).toISOString(),
    })
    const { claims } = await verifyVapid(pushes[0]!.headers.authorization ?? null)
    expect(claims).toMatchObject({ aud: 'https://fcm.googleapis.com', sub: SUBJECT })
    expect(claims.exp as number).toBeLessThanOrEqual(nowSeconds() + 24 * 3600)
    expect(await sentAt(taskId)).toBe(new Date(now).toISOString())
  })

  it('sends to every subscription of the owner and to no one else', async () => {
    const now = nextEra()
    const [owner, other] = [newUserId(), newUserId()]
    await seedTask(owner, { remindAt: now })
    const phone = await subscribe(owner)
    const laptop = await subscribe(owner)
    const stranger = await subscribe(other)
    expect(await sendDueReminders(pushEnv, now)).toBe(2)
    expect(await received(phone.json.endpoint)).toHaveLength(1)
    expect(await received(laptop.json.endpoint)).toHaveLength(1)
    expect(await received(stranger.json.endpoint)).toHaveLength(0)
  })

  it('sends once when two runs overlap', async () => {
    const now = nextEra()
    const user = newUserId()
    await seedTask(user, { remindAt: now - MINUTE })
    const browser = await subscribe(user)
    const [a, b] = await Promise.all([sendDueReminders(pushEnv, now), sendDueReminders(pushEnv, now)])
    expect(a + b).toBe(1)
    expect(await received(browser.json.endpoint)).toHaveLength(1)
  })

  it('does not send a reminder that is not due yet, and drops one of a completed task', async () => {
    const now = nextEra()
    const user = newUserId()
    const later = await seedTask(user, { remindAt: now + MINUTE })
    const done = await seedTask(user, { remindAt: now - MINUTE, completed: true })
    const browser = await subscribe(user)
    expect(await sendDueReminders(pushEnv, now)).toBe(0)
    expect(await received(browser.json.endpoint)).toHaveLength(0)
    expect(await sentAt(later)).toBeNull()
    // Taken off the queue unsent, so that it costs no later run a look; reopening the task does not bring it back.
    expect(await sentAt(done)).toBe(new Date(now).toISOString())
    await env.DB.prepare('UPDATE tasks SET completed = 0, completed_at = NULL, version = version + 1 WHERE id = ?1')
      .bind(done)
      .run()
    expect(await sendDueReminders(pushEnv, now + MINUTE / 2)).toBe(0)
    expect(await received(browser.json.endpoint)).toHaveLength(0)
  })

  it('re-arms a reminder whose time is changed, and drops one that is cleared', async () => {
    const now = nextEra()
    const user = newUserId()
    const taskId = await seedTask(user, { remindAt: now - MINUTE })
    const browser = await subscribe(user)
    expect(await sendDueReminders(pushEnv, now)).toBe(1)
    await env.DB.prepare('UPDATE tasks SET remind_at = ?2, version = version + 1 WHERE id = ?1')
      .bind(taskId, new Date(now + 5 * MINUTE).toISOString())
      .run()
    expect(await sentAt(taskId)).toBeNull()
    expect(await sendDueReminders(pushEnv, now + 5 * MINUTE)).toBe(1)
    expect(await received(browser.json.endpoint)).toHaveLength(2)
    await env.DB.prepare('UPDATE tasks SET remind_at = NULL, version = version + 1 WHERE id = ?1').bind(taskId).run()
    expect(await sentAt(taskId)).toBeUndefined()
  })

  it('re-arms a reminder when a PATCH changes remindAt, and leaves it sent when the PATCH changes something else', async () => {
    const now = nextEra()
    const user = await signIn()
    const task = await user.createTask({ remindAt: new Date(now - MINUTE).toISOString() })
    await subscribe(user.id)
    expect(await sendDueReminders(pushEnv, now)).toBe(1)
    expect((await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { title: 'Renamed' } })).status).toBe(200)
    expect(await sentAt(task.id)).toBe(new Date(now).toISOString())
    const later = new Date(now + 10 * MINUTE).toISOString()
    expect((await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { remindAt: later } })).status).toBe(200)
    expect(await sentAt(task.id)).toBeNull()
    expect(await sendDueReminders(pushEnv, now + 10 * MINUTE)).toBe(1)
  })

  it('deletes a subscription the push service answers 410 or 404 for', async () => {
    const now = nextEra()
    const user = newUserId()
    await seedTask(user, { remindAt: now })
    const expired = await subscribe(user, 410)
    const unknown = await subscribe(user, 404)
    const live = await subscribe(user)
    expect(await sendDueReminders(pushEnv, now)).toBe(1)
    const { results } = await env.DB.prepare('SELECT endpoint FROM push_subscriptions WHERE user_id = ?1')
      .bind(user)
      .all()
    expect(results).toEqual([{ endpoint: live.json.endpoint }])
    expect(await received(expired.json.endpoint)).toHaveLength(1)
    expect(await received(unknown.json.endpoint)).toHaveLength(1)
  })

  it('retries a 429 or 5xx on later runs, for at most an hour after the first attempt', async () => {
    const now = nextEra()
    const user = newUserId()
    await seedTask(user, { remindAt: now })
    const busy = await subscribe(user, 503)
    const limited = await subscribe(user, 429)
    expect(await sendDueReminders(pushEnv, now)).toBe(0)
    const retries = () => env.DB.prepare('SELECT first_tried_at FROM push_retries WHERE user_id = ?1').bind(user).all()
    expect((await retries()).results).toEqual([
      { first_tried_at: new Date(now).toISOString() },
      { first_tried_at: new Date(now).toISOString() },
    ])
    await sendDueReminders(pushEnv, now + MINUTE)
    await sendDueReminders(pushEnv, now + 30 * MINUTE)
    expect(await received(busy.json.endpoint)).toHaveLength(3)
    expect(await received(limited.json.endpoint)).toHaveLength(3)
    // An hour after the first attempt the push service is not asked again.
    await sendDueReminders(pushEnv, now + RETRY_WINDOW_MS)
    expect(await received(busy.json.endpoint)).toHaveLength(3)
    expect((await retries()).results).toEqual([])
  })

  it('sends at most PUSHES_PER_RUN messages a run, oldest reminders first, the rest on the next run', async () => {
    const now = nextEra()
    const user = newUserId()
    const browser = await subscribe(user)
    const count = PUSHES_PER_RUN + 5
    const ids: string[] = []
    for (let i = 0; i < count; i++)
      ids.push(await seedTask(user, { remindAt: now - (count - i) * 1000, title: `Task ${i}` }))
    expect(await sendDueReminders(pushEnv, now)).toBe(PUSHES_PER_RUN)
    const unsent = []
    for (const id of ids) if ((await sentAt(id)) === null) unsent.push(id)
    expect(unsent).toEqual(ids.slice(PUSHES_PER_RUN))
    expect(await sendDueReminders(pushEnv, now + MINUTE)).toBe(5)
    expect(await received(browser.json.endpoint)).toHaveLength(count)
  })

  it('pushes nothing while push is off, and still takes the reminder into the inbox, once', async () => {
    const now = nextEra()
    const user = newUserId()
    const taskId = await seedTask(user, { remindAt: now })
    const browser = await subscribe(user)
    expect(await sendDueReminders({ DB: env.DB }, now)).toBe(0)
    expect(await received(browser.json.endpoint)).toHaveLength(0)
    expect(await sentAt(taskId)).toBe(new Date(now).toISOString())
    const inbox = await env.DB.prepare('SELECT task_id FROM notifications WHERE user_id = ?1').bind(user).all()
    expect(inbox.results).toEqual([{ task_id: taskId }])
    // Turning push on later does not send what the inbox already has.
    expect(await sendDueReminders(pushEnv, now + MINUTE)).toBe(0)
    expect(await received(browser.json.endpoint)).toHaveLength(0)
  })

  it('runs on the every-minute trigger, and not on the hourly one', async () => {
    const now = nextEra()
    const user = newUserId()
    const taskId = await seedTask(user, { remindAt: now })
    const browser = await subscribe(user)
    const run = async (cron: string) => {
      const ctx = createExecutionContext()
      await worker.scheduled(
        createScheduledController({ scheduledTime: now, cron }),
        { ...env, VAPID_PRIVATE_KEY: pushEnv.VAPID_PRIVATE_KEY ?? '', VAPID_SUBJECT: SUBJECT },
        ctx,
      )
      await waitOnExecutionContext(ctx)
    }
    await run('17 * * * *')
    expect(await sentAt(taskId)).toBeNull()
    await run('* * * * *')
    expect(await received(browser.json.endpoint)).toHaveLength(1)
  })
})
