/**
 * The worst case of docs/security.md, measured: one account attacks for a simulated day (fake
 * time; the hourly purge runs on it) with the largest bodies and keys the API accepts, keeping
 * every table at its bound, and D1's own size (`meta.size_after`) never grows past QUOTA units of
 * UNIT_BYTES, a unit being one task, one Idempotency-Key record, one tombstone and the task events
 * EVENTS_PER_USER keeps per task (two by default, src/events/config.ts).
 *
 * The quota is lowered so that a day fits in a test run; the bounds are per unit, so the default
 * worst case is TASK_QUOTA units of the same size.
 */
import {
  applyD1Migrations,
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeAll, expect, it, vi } from 'vitest'
import { QUOTA_MULTIPLE } from '../src/events/config'
import worker from '../src/index'
import { MAX_INTERVAL, WEEKDAYS } from '../src/recurrence/rule'
import { request, signJwt } from './helpers'

/** D1 bytes one unit (task + record + tombstone + its events) may take at most, indexes and page slack included. */
const UNIT_BYTES = 40 * 1024
const QUOTA = 40
// A database of its own: D1's size is the measure, and other test files share DB (vitest.config.ts).
const db = env.STORAGE_DAY_DB
const LIMITS = { TASK_QUOTA: String(QUOTA), DB: db }
const MINUTE = 60_000
const DAY_MINUTES = 24 * 60
/** The attacker acts every STEP simulated minutes: enough to hold every bound all day. */
const STEP = 5

beforeAll(() => applyD1Migrations(db, env.TEST_MIGRATIONS))
afterEach(() => vi.useRealTimers())

// The largest task the API stores: every text field at its limit, in four-byte characters.
const wide = (n: number, codePoint = 0x10ffff) => String.fromCodePoint(codePoint).repeat(n)
const LARGEST = {
  title: wide(200),
  description: wide(1000),
  priority: 'high',
  dueAt: '2026-05-01T09:30:00.000Z',
  tags: Array.from({ length: 10 }, (_, i) => wide(32, 0x10000 + i)),
  // A rule with every part, a long zone name and a reminder (which is a row of its own).
  recurrence: {
    frequency: 'weekly',
    interval: MAX_INTERVAL,
    weekdays: [...WEEKDAYS],
    until: '2099-12-31T00:00:00.000Z',
  },
  timeZone: 'America/North_Dakota/New_Salem',
  remindAt: '2026-05-01T09:00:00.000Z',
}
const longestKey = (n: number) => `${n}-`.padEnd(255, 'k')

const dbBytes = async () => (await db.prepare('SELECT 1').run()).meta.size_after

// The purges run on the same lowered quota the requests do: the event log's bound follows it.
const purgeEnv = { ...env, ...LIMITS }

async function purge(scheduledTime: number) {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ scheduledTime, cron: '17 * * * *' }), purgeEnv, ctx)
  await waitOnExecutionContext(ctx)
}

async function stored(userId: string) {
  const [tasks, records, tombstones, events] = await db.batch(
    ['tasks', 'idempotency_keys', 'task_tombstones', 'task_events'].map((table) =>
      db.prepare(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?1`).bind(userId),
    ),
  )
  const n = (result: D1Result | undefined) => (result!.results[0] as { n: number }).n
  return { tasks: n(tasks), records: n(records), tombstones: n(tombstones), events: n(events) }
}

it('keeps one attacking account within QUOTA units of storage for a simulated day', { timeout: 600_000 }, async () => {
  const start = Date.UTC(2026, 0, 1)
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(start)
  const sub = `day-${crypto.randomUUID()}`
  const token = await signJwt({ sub, exp: start / 1000 + 3 * 24 * 3600 })
  const send = (path: string, init: { method: string; body?: unknown; headers?: Record<string, string> }) =>
    request(path, { ...init, token, env: LIMITS })
  const before = await dbBytes()

  const live: string[] = []
  const refused = { 409: 0, 429: 0 }
  let grown = 0
  for (let minute = 0; minute < DAY_MINUTES; minute += STEP) {
    vi.setSystemTime(start + minute * MINUTE)
    // A keyed create, deleted at once: it leaves a record and a tombstone. Once the key budget (or,
    // later, the quota) refuses it, the largest unkeyed tasks fill the quota and then churn.
    const res = await send('/tasks', {
      method: 'POST',
      body: LARGEST,
      headers: { 'Idempotency-Key': longestKey(minute) },
    })
    if (res.status === 201) {
      const { id } = await res.json<{ id: string }>()
      expect((await send(`/tasks/${id}`, { method: 'DELETE' })).status).toBe(204)
    } else {
      expect([409, 429]).toContain(res.status)
      refused[res.status as 409 | 429]++
      if (live.length === QUOTA) expect((await send(`/tasks/${live.shift()}`, { method: 'DELETE' })).status).toBe(204)
      const plain = await send('/tasks', { method: 'POST', body: LARGEST })
      expect(plain.status).toBe(201)
      live.push((await plain.json<{ id: string }>()).id)
    }
    if (minute % 60 === 60 - STEP) {
      await purge(Date.now())
      const counts = await stored(sub)
      expect(counts.tasks).toBeLessThanOrEqual(QUOTA)
      expect(counts.records).toBeLessThanOrEqual(QUOTA)
      expect(counts.tombstones).toBeLessThanOrEqual(QUOTA)
      expect(counts.events).toBeLessThanOrEqual(QUOTA * QUOTA_MULTIPLE)
      grown = Math.max(grown, (await dbBytes()) - before)
    }
  }
  // Every bound was reached and held: the day ended with each table full, keyed creates refused
  // by the key budget first, then by the quota.
  expect(await stored(sub)).toMatchObject({ tasks: QUOTA, records: QUOTA, tombstones: QUOTA })
  expect(refused[429]).toBeGreaterThanOrEqual(QUOTA)
  expect(refused[409] + refused[429]).toBe(DAY_MINUTES / STEP - QUOTA)
  console.log(JSON.stringify({ unitBytes: Math.round(grown / QUOTA), grown, quota: QUOTA }))
  expect(grown).toBeGreaterThan(0)
  expect(grown).toBeLessThanOrEqual(QUOTA * UNIT_BYTES)
})
