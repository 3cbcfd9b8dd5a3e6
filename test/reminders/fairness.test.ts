/**
 * The reminder job is fair across users: an account with thousands of due reminders, or one that
 * re-arms hundreds a minute, delays only itself. Every other user's due reminder goes out within two
 * runs (in practice, the first), and a run reads as many rows whatever the flooder stores.
 */
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { saveSubscription } from '../../src/push/repo'
import { PUSHES_PER_RUN, type ReminderEnv, sendDueReminders } from '../../src/reminders/job'
import { countingDb, newUserId, queryPlan, tableScans } from '../helpers'
import { type BrowserSubscription, browserSubscription } from '../push/decrypt'
import { chromeEndpoint, received, routePushToLoopback, vapidSecret } from '../push/service'

const MINUTE = 60_000
let pushEnv: ReminderEnv

beforeAll(async () => {
  pushEnv = { DB: env.DB, VAPID_PRIVATE_KEY: await vapidSecret(), VAPID_SUBJECT: 'mailto:ops@example.com' }
})
beforeEach(() => {
  routePushToLoopback()
  vi.spyOn(console, 'log').mockImplementation(() => {})
})
afterEach(() => vi.restoreAllMocks())

// The job looks at every user's due reminders: each test runs days from any other test's (and from
// test/reminders/job.test.ts's), so no test sees another's.
let era = Date.parse('2035-01-01T00:00:00.000Z')
const nextEra = () => {
  era += 10 * 24 * 60 * MINUTE
  return era
}
const iso = (ms: number) => new Date(ms).toISOString()

/**
 * `count` open tasks of a new user, numbered 1..count, whose reminders fall due evenly over the hour
 * before `now` (the oldest 59 minutes before it), seeded in one statement.
 */
async function flood(userId: string, now: number, count: number) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
     INSERT INTO tasks (id, user_id, title, created_at, updated_at, remind_at, number)
     SELECT lower(hex(randomblob(4))) || '-0000-4000-8000-' || printf('%012d', i), ?1, 'flood ' || i, ?3, ?3,
            strftime('%Y-%m-%dT%H:%M:%fZ', ?4, '+' || ((i - 1) * 3480 / ?2) || ' seconds'), i
     FROM n`,
  )
    .bind(userId, count, iso(now - 2 * 60 * MINUTE), iso(now - 59 * MINUTE))
    .run()
}

/** Re-arms the user's tasks 1..count to fall due `ago` before `at`: older than any other reminder. */
async function rearm(userId: string, count: number, at: number, ago = 59 * MINUTE) {
  await env.DB.prepare(
    'UPDATE tasks SET remind_at = ?3, version = version + 1 WHERE user_id = ?1 AND number <= ?2 AND remind_at <> ?3',
  )
    .bind(userId, count, iso(at - ago))
    .run()
}

/** One open task of the user, its reminder due at `remindAt`. */
async function remindOnce(userId: string, remindAt: number, number: number) {
  const id = crypto.randomUUID()
  await env.DB.prepare(
    `INSERT INTO tasks (id, user_id, title, created_at, updated_at, remind_at, number)
     VALUES (?1, ?2, 'Take the pills', ?3, ?3, ?4, ?5)`,
  )
    .bind(id, userId, iso(remindAt - 60 * MINUTE), iso(remindAt), number)
    .run()
  return id
}

async function subscribe(userId: string, browsers = 1): Promise<BrowserSubscription[]> {
  const subscriptions = []
  for (let i = 0; i < browsers; i++) {
    const browser = await browserSubscription(chromeEndpoint())
    await saveSubscription(env.DB, userId, browser.json, new Date().toISOString(), 10)
    subscriptions.push(browser)
  }
  return subscriptions
}

const pushesTo = async (browsers: BrowserSubscription[]) =>
  (await Promise.all(browsers.map(async (b) => (await received(b.json.endpoint)).length))).reduce((a, b) => a + b, 0)

const sentAt = async (taskId: string) =>
  (
    await env.DB.prepare('SELECT sent_at FROM task_reminders WHERE task_id = ?1')
      .bind(taskId)
      .first<{ sent_at: string | null }>()
  )?.sent_at

const unsent = async (userId: string) =>
  (
    await env.DB.prepare('SELECT count(*) AS n FROM task_reminders WHERE user_id = ?1 AND sent_at IS NULL')
      .bind(userId)
      .first<{ n: number }>()
  )?.n

describe('the reminder job, with an account flooding it', () => {
  it("sends another user's reminder in the first run although the flooder has hundreds of older ones due", async () => {
    const now = nextEra()
    const [flooder, victim] = [newUserId(), newUserId()]
    await flood(flooder, now, 600)
    const floodersBrowser = await subscribe(flooder)
    const taskId = await remindOnce(victim, now - 30_000, 1)
    const victimsBrowser = await subscribe(victim)

    await sendDueReminders(pushEnv, now)
    expect(await sentAt(taskId)).toBe(iso(now))
    expect(await pushesTo(victimsBrowser)).toBe(1)
    // The flooder is still served, oldest first, with the rest of the run.
    expect(await pushesTo(floodersBrowser)).toBe(PUSHES_PER_RUN - 1)
    expect(await unsent(flooder)).toBe(600 - (PUSHES_PER_RUN - 1))
  })

  it('sends every reminder of another user within two runs while the flooder re-arms 500 of its own a minute', async () => {
    const start = nextEra()
    const [flooder, victim] = [newUserId(), newUserId()]
    await flood(flooder, start, 500)
    // Ten browsers: each of its reminders costs ten push messages.
    await subscribe(flooder, 10)
    const victimsBrowser = await subscribe(victim)
    const reminders: { id: string; dueAt: number }[] = []
    for (let minute = 0; minute < 4; minute++) {
      const now = start + minute * MINUTE
      // Re-armed to be the oldest due reminders of all, just before the run.
      await rearm(flooder, 500, now)
      const dueAt = now - 1000
      reminders.push({ id: await remindOnce(victim, dueAt, minute + 1), dueAt })
      await sendDueReminders(pushEnv, now)
      for (const reminder of reminders.filter((r) => r.dueAt <= now - MINUTE)) {
        expect(await sentAt(reminder.id), `due at ${iso(reminder.dueAt)}, after the run at ${iso(now)}`).not.toBeNull()
      }
    }
    for (const reminder of reminders) expect(await sentAt(reminder.id)).not.toBeNull()
    expect(await pushesTo(victimsBrowser)).toBe(reminders.length)
  })

  it('sends each reminder once when runs overlap, the flooder and the others alike', async () => {
    const now = nextEra()
    const [flooder, victim] = [newUserId(), newUserId()]
    await flood(flooder, now, 300)
    const floodersBrowser = await subscribe(flooder)
    await remindOnce(victim, now - 1000, 1)
    const victimsBrowser = await subscribe(victim)
    const runs = await Promise.all([0, 1, 2].map(() => sendDueReminders(pushEnv, now)))
    const sent = await env.DB.prepare(
      'SELECT count(*) AS n FROM task_reminders WHERE user_id = ?1 AND sent_at IS NOT NULL',
    )
      .bind(flooder)
      .first<{ n: number }>()
    expect(await pushesTo(floodersBrowser)).toBe(sent!.n)
    expect(await pushesTo(victimsBrowser)).toBe(1)
    expect(runs.reduce((a, b) => a + b, 0)).toBe(sent!.n + 1)
  })

  it('reads as many rows with 5,000 flooding reminders as with 500, each statement an index seek', async () => {
    const measure = async (count: number) => {
      const now = nextEra()
      const [flooder, victim] = [newUserId(), newUserId()]
      await flood(flooder, now, count)
      await subscribe(flooder)
      await remindOnce(victim, now - 1000, 1)
      await subscribe(victim)
      const { db, counter } = countingDb(env.DB)
      await sendDueReminders({ ...pushEnv, DB: db as D1Database }, now)
      return counter
    }
    const small = await measure(500)
    const large = await measure(5000)
    expect(large.rowsRead).toBeLessThanOrEqual(small.rowsRead + 10)
    // Every statement the job ran on task_reminders finds its rows through an index.
    const statements = [...large.statements.map((sql, i) => ({ sql, bindings: large.bindings[i]! }))].filter(
      ({ sql }) => sql.includes('task_reminders'),
    )
    expect(statements.length).toBeGreaterThan(0)
    for (const { sql, bindings } of statements) expect(tableScans(await queryPlan(sql, ...bindings)), sql).toEqual([])
  })
})
