/**
 * DELETE /me erases everything the worker stores for the caller; GET /me/export hands it all over.
 * Both behind the same authentication, rate limits and CORS as every other route.
 */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { EXPORT_PAGE_SIZE } from '../../src/account/export'
import { ERASED } from '../../src/account/repo'
import { D1_TIMEOUT_MS } from '../../src/db'
import { limits } from '../../src/limits'
import { accountExport } from '../../src/openapi/schemas'
import { countingDb, expectProblem, feed, nowSeconds, request, type SignedIn, signIn, signJwt } from '../helpers'
import { clock, dueTasks, runJob } from '../notifications/seed'

const inboxTimes = clock('2043-01-01T00:00:00.000Z')

afterEach(() => vi.restoreAllMocks())

// Every table that holds rows of a user: the list erasure works through.
const TABLES = ERASED
const NOTHING = Object.fromEntries(TABLES.map((table) => [table, 0]))

/** How many rows each table holds for the user. */
async function rowsOf(userId: string): Promise<Record<(typeof TABLES)[number], number>> {
  const counts = await env.DB.batch(
    TABLES.map((table) => env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?1`).bind(userId)),
  )
  return Object.fromEntries(TABLES.map((table, i) => [table, (counts[i]!.results[0] as { n: number }).n])) as Record<
    (typeof TABLES)[number],
    number
  >
}

/**
 * Something in every table: tasks (one keyed, one with a reminder), a tombstone, a record, counters,
 * sync state, a push subscription with a pending retry (in SQL: subscribing needs VAPID keys), and a
 * notification with its counter, and a conversation with a message.
 */
async function seed(user: SignedIn) {
  const reminded = await user.createTask({ title: 'kept', remindAt: '2099-01-01T00:00:00.000Z' })
  const subscription = crypto.randomUUID()
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
       VALUES (?1, ?2, 'https://push.example.com/' || ?1, ?3, ?4, ?5)`,
    ).bind(subscription, user.id, 'B'.repeat(87), 'A'.repeat(22), new Date().toISOString()),
    env.DB.prepare(
      'INSERT INTO push_retries (task_id, subscription_id, user_id, first_tried_at) VALUES (?1, ?2, ?3, ?4)',
    ).bind(reminded.id, subscription, user.id, new Date().toISOString()),
    // A notification, as the reminder job records one, and its counter row.
    env.DB.prepare(
      `INSERT INTO notifications (user_id, number, type, task_id, task_number, title, message, sent_at)
       VALUES (?1, 1, 'reminder', ?2, ?3, 'kept', '', ?4)`,
    ).bind(user.id, reminded.id, reminded.number, new Date().toISOString()),
    env.DB.prepare('INSERT INTO notification_counts (user_id, last_number, n) VALUES (?1, 1, 1)').bind(user.id),
    // A conversation with the assistant (in SQL: a turn needs a model); its triggers keep chat_counts.
    env.DB.prepare(
      "INSERT INTO conversations (user_id, number, title, created_at, updated_at) VALUES (?1, 1, 'chat', ?2, ?2)",
    ).bind(user.id, new Date().toISOString()),
    env.DB.prepare(
      "INSERT INTO chat_messages (user_id, conversation, seq, role, content, created_at) VALUES (?1, 1, 1, 'user', 'hi', ?2)",
    ).bind(user.id, new Date().toISOString()),
  ])
  const keyed = await user.request('/tasks', {
    method: 'POST',
    body: { title: 'keyed' },
    headers: { 'Idempotency-Key': 'k' },
  })
  expect(keyed.status).toBe(201)
  const doomed = await user.createTask({ title: 'doomed' })
  expect((await user.request(`/tasks/${doomed.id}`, { method: 'DELETE' })).status).toBe(204)
  const rows = await rowsOf(user.id)
  for (const table of TABLES) expect(rows[table], table).toBeGreaterThan(0)
}

describe('DELETE /me', () => {
  it('erases tasks, tombstones, idempotency records, notifications, counters and sync state, and answers 204', async () => {
    const [user, other] = [await signIn(), await signIn()]
    await seed(user)
    await seed(other)
    const before = await rowsOf(other.id)
    const res = await user.request('/me', { method: 'DELETE' })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(await rowsOf(user.id)).toEqual(NOTHING)
    expect(await rowsOf(other.id)).toEqual(before)
  })

  it('erases an account at the task quota in one round trip, well within the D1 deadline', {
    timeout: 120_000,
  }, async () => {
    const user = await signIn()
    const quota = limits(env).taskQuota
    // Seeded in SQL, each with a reminder (a task_reminders row); the erasure's triggers then write
    // a tombstone and a counter update per task before the tombstones go too.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
       INSERT INTO tasks (id, user_id, title, description, created_at, updated_at, remind_at, number)
       SELECT printf('00000000-0000-4000-8000-%012d', i), ?1, 'task ' || i, printf('%0200d', i),
              '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2099-01-01T00:00:00.000Z', i
       FROM n`,
    )
      .bind(user.id, quota)
      .run()
    const seeded = await rowsOf(user.id)
    expect(seeded.tasks).toBe(quota)
    expect(seeded.task_reminders).toBe(quota)

    const { db, counter } = countingDb(env.DB)
    const res = await user.request('/me', { method: 'DELETE', env: { DB: db } })
    expect(res.status).toBe(204)
    expect(counter.roundTrips).toBe(1)
    expect(await rowsOf(user.id)).toEqual(NOTHING)
    // The worker's own measure of its wait on D1 (Server-Timing): local SQLite, as D1 is, at a
    // tenth of the deadline after which d1() would have answered 503 (src/db.ts).
    const waited = Number(/db;dur=([\d.]+)/.exec(res.headers.get('Server-Timing') ?? '')?.[1])
    expect(waited).toBeGreaterThan(0)
    expect(waited).toBeLessThan(D1_TIMEOUT_MS / 10)
  })

  it('knows every table that holds rows of a user: each one with a user_id column is erased', async () => {
    // pragma_table_info is not authorized in D1; the stored CREATE TABLE text names every column.
    const { results: tables } = await env.DB.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL",
    ).all<{ name: string; sql: string }>()
    const results = tables.filter((t) => /\buser_id\b/.test(t.sql)).sort((a, b) => a.name.localeCompare(b.name))
    expect(results.length).toBeGreaterThan(0)
    expect([...ERASED].sort()).toEqual(results.map((r) => r.name))
  })

  it('is idempotent, for an erased account and for one that never stored anything', async () => {
    const user = await signIn()
    await seed(user)
    for (let i = 0; i < 2; i++) expect((await user.request('/me', { method: 'DELETE' })).status).toBe(204)
    const stranger = await signIn()
    expect((await stranger.request('/me', { method: 'DELETE' })).status).toBe(204)
    expect(await rowsOf(stranger.id)).toEqual(NOTHING)
  })

  it('answers old sync tokens 410 afterwards, even once the account is used again, and a new sync starts from nothing', async () => {
    const user = await signIn()
    await seed(user)
    const old = await feed(user)
    const later = await feed(user, old.token)
    expect((await user.request('/me', { method: 'DELETE' })).status).toBe(204)

    expect(await feed(user)).toMatchObject({ tasks: [], deleted: [], hasMore: false })
    for (const token of [old.token, later.token]) {
      expect((await expectProblem(await user.request(`/tasks/changes?since=${token}`), 410)).type).toBe(
        '/problems/sync-token-expired',
      )
    }
    // The same sub writes again: a new sequence, which the old tokens still cannot reach into.
    const fresh = await user.createTask({ title: 'a new start' })
    for (let i = 0; i < 3; i++) await user.createTask({ title: `more ${i}` })
    for (const token of [old.token, later.token])
      await expectProblem(await user.request(`/tasks/changes?since=${token}`), 410)
    const resync = await feed(user)
    expect(resync.tasks.map((t) => t.title)).toEqual([fresh.title, 'more 0', 'more 1', 'more 2'])
    expect((await user.request('/tasks')).status).toBe(200)
    // The Idempotency-Key of before is free again: nothing of the old account replays.
    const keyed = await user.request('/tasks', {
      method: 'POST',
      body: { title: 'keyed' },
      headers: { 'Idempotency-Key': 'k' },
    })
    expect(keyed.status).toBe(201)
    expect(keyed.headers.get('Idempotent-Replayed')).toBeNull()
  })

  it('erases in one transaction: when any statement fails, nothing is erased', async () => {
    const user = await signIn()
    await seed(user)
    const before = await rowsOf(user.id)
    const sabotaged = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === 'withSession') return () => sabotaged
        if (prop === 'getBookmark') return () => null
        if (prop === 'batch') {
          return (statements: D1PreparedStatement[]) =>
            target.batch([...statements.slice(0, -1), target.prepare('DELETE FROM no_such_table')])
        }
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    vi.spyOn(console, 'error').mockImplementation(() => {})
    await expectProblem(await user.request('/me', { method: 'DELETE', env: { DB: sabotaged } }), 500)
    expect(await rowsOf(user.id)).toEqual(before)
  })

  it('requires a token, and answers a listed origin with CORS, preflight included', async () => {
    await expectProblem(await request('/me', { method: 'DELETE' }), 401)
    const user = await signIn()
    const res = await user.request('/me', { method: 'DELETE', headers: { Origin: 'http://localhost:3000' } })
    expect(res.status).toBe(204)
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('http://localhost:3000')
    const preflight = await request('/me', {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'DELETE' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('Access-Control-Allow-Methods')?.split(',')).toContain('DELETE')
  })
  it("refuses an app's OAuth access token, whatever its scopes, and erases nothing", async () => {
    const user = await signIn()
    await seed(user)
    const before = await rowsOf(user.id)
    const api = { API_RESOURCE_URL: 'https://tasks.test/' }
    const now = nowSeconds()
    const token = await signJwt(
      {
        sub: user.id,
        aud: api.API_RESOURCE_URL,
        scope: 'tasks:read tasks:write',
        client_id: 'app',
        iat: now,
        exp: now + 900,
      },
      { header: { alg: 'HS256', typ: 'at+jwt' } },
    )
    // The token itself is good: it reads and writes the user's tasks.
    expect((await request('/tasks', { token, env: api })).status).toBe(200)
    const problem = await expectProblem(await request('/me', { method: 'DELETE', token, env: api }), 403)
    expect(problem.detail).toMatch(/session token/)
    expect(await rowsOf(user.id)).toEqual(before)
  })
})

describe('GET /me/export', () => {
  it("returns all the caller's tasks, and no one else's, as one JSON attachment", async () => {
    const [user, other] = [await signIn(), await signIn()]
    const tasks = [await user.createTask({ title: 'one' }), await user.createTask({ title: 'two', tags: ['x'] })]
    await other.createTask({ title: 'not yours' })
    const res = await user.request('/me/export', { headers: { Origin: 'http://localhost:3000' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toBe('application/json')
    expect(res.headers.get('Content-Disposition')).toBe('attachment; filename="tasks-export.json"')
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('http://localhost:3000')
    expect(res.headers.get('Access-Control-Expose-Headers')?.split(',')).toContain('Content-Disposition')
    const body = await res.json<{ sub: string; exportedAt: string; tasks: unknown[]; events: unknown[] }>()
    // In the order they were last written: here, the order they were made. Then their events.
    expect(body).toEqual({
      sub: user.id,
      exportedAt: expect.any(String),
      tasks,
      events: expect.any(Array),
      notifications: [],
      conversations: [],
    })
    expect(body.events).toMatchObject(tasks.map((task) => ({ type: 'task.created', task })))
  })

  it('exports each task as the model has it: its number, its rule, its time zone and its reminder', async () => {
    const user = await signIn()
    await user.createTask({ title: 'plain' })
    const recurring = await user.createTask({
      title: 'recurring',
      dueAt: '2027-03-01T09:00:00.000Z',
      timeZone: 'Europe/Berlin',
      recurrence: { frequency: 'daily' },
      remindAt: '2027-03-01T08:30:00.000Z',
    })
    const body = await (await user.request('/me/export')).json<{ tasks: Record<string, unknown>[] }>()
    expect(body.tasks.map((t) => t.number)).toEqual([1, 2])
    expect(body.tasks[1]).toEqual(recurring)
    expect(body.tasks[1]).toMatchObject({
      timeZone: 'Europe/Berlin',
      recurrence: { frequency: 'daily', interval: 1 },
      remindAt: '2027-03-01T08:30:00.000Z',
      nextTaskId: null,
    })
  })

  it('exports an empty account as empty lists', async () => {
    const user = await signIn()
    expect(await (await user.request('/me/export')).json()).toMatchObject({
      sub: user.id,
      tasks: [],
      notifications: [],
    })
  })

  it("exports the caller's notifications, oldest first, as GET /notifications shows them, and no one else's", async () => {
    const [user, other] = [await signIn(), await signIn()]
    const at = inboxTimes.next()
    await dueTasks(user.id, 2, at, 'Mine')
    await dueTasks(other.id, 1, at, 'Theirs')
    await runJob(at)
    await user.request('/notifications/read', { method: 'POST', body: { ids: [1] } })
    const listed = await (await user.request('/notifications')).json<{ items: unknown[] }>()
    const body = await (await user.request('/me/export')).json<{ notifications: { title: string }[] }>()
    expect(body.notifications).toEqual([...listed.items].reverse())
    expect(body.notifications.map((n) => n.title)).toEqual(['Mine 1', 'Mine 2'])
    expect(accountExport.safeParse(body).success).toBe(true)
  })

  it('requires a token', async () => {
    await expectProblem(await request('/me/export'), 401)
  })

  it('streams 10,000 tasks and their events a page at a time, reading each row once', {
    timeout: 120_000,
  }, async () => {
    const user = await signIn()
    const count = 10_000
    // Seeded in SQL: ten thousand requests would test the API, not the export. Each insert's trigger
    // logs its event.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
       INSERT INTO tasks (id, user_id, title, description, created_at, updated_at, number)
       SELECT printf('00000000-0000-4000-8000-%012d', i), ?1, 'task ' || i, printf('%0200d', i),
              strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'),
              strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'), i
       FROM n`,
    )
      .bind(user.id, count)
      .run()
    const { db, counter } = countingDb(env.DB)
    const res = await user.request('/me/export', { env: { DB: db } })
    expect(res.status).toBe(200)
    // Headers are out, and not one page has been read: the body is made as it is taken.
    expect(counter.roundTrips).toBe(0)

    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    let largestChunk = 0
    let pagesAheadOfReader = 0
    for (let chunks = 0; ; chunks++) {
      const { done, value } = await reader.read()
      if (done) break
      largestChunk = Math.max(largestChunk, value.byteLength)
      text += decoder.decode(value, { stream: true })
      // Never more than the page being handed over has been read.
      pagesAheadOfReader = Math.max(pagesAheadOfReader, counter.roundTrips - chunks)
    }
    const body = JSON.parse(text) as { tasks: { id: string; title: string }[]; events: unknown[] }
    expect(body.tasks).toHaveLength(count)
    expect(body.tasks[0]!.title).toBe('task 1')
    expect(body.tasks.at(-1)!.title).toBe(`task ${count}`)
    expect(new Set(body.tasks.map((t) => t.id)).size).toBe(count)
    // Each task row is read once. When the last page is full, one more page finds nothing, and D1
    // counts the one index entry it looked at to learn that; so does each of the two statements of
    // the one round trip that finds no conversation. The same for the events, one per task.
    expect(body.events).toHaveLength(count)
    const fullLastPage = count % EXPORT_PAGE_SIZE === 0
    expect(counter.rowsRead).toBe(2 * (count + (fullLastPage ? 1 : 0)) + 2)
    // The task pages, the event pages, one read of the (bounded, here empty) notifications, then of
    // the conversations.
    expect(counter.roundTrips).toBe(2 * (Math.floor(count / EXPORT_PAGE_SIZE) + 1) + 1 + 1)
    expect(pagesAheadOfReader).toBeLessThanOrEqual(1)
    // No piece of the body is bigger than one page of events (each a task and more): that is all
    // the worker holds at once.
    const largestTask = Math.max(...body.events.map((e) => JSON.stringify(e).length))
    expect(largestChunk).toBeLessThanOrEqual(EXPORT_PAGE_SIZE * (largestTask + 1))
    expect(largestChunk * 10).toBeLessThan(text.length)
  })
})
