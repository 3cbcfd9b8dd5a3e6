/**
 * Every table a user can grow is bounded per user, in the transaction that writes it: live tasks
 * by TASK_QUOTA (quota.test.ts), Idempotency-Key records and tombstones by their own budgets, whose
 * default is the task quota. See docs/security.md for the worst case they add up to.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { purgeExpiredIdempotencyKeys } from '../src/idempotency/repo'
import type { ChangesPage } from '../src/tasks/sync'
import { purgeTombstones } from '../src/tasks/sync-repo'
import { expectProblem, type SignedIn, signIn } from './helpers'
import { call, mcpClient, mcpToken } from './mcp/client'

// One object per configuration: the app caches its configuration per env object.
const QUOTA_5 = { TASK_QUOTA: '5' }
const TWO_KEYS = { TASK_QUOTA: '5', IDEMPOTENCY_KEYS_PER_USER: '2' }
const THREE_TOMBSTONES = { TASK_QUOTA: '5', TOMBSTONES_PER_USER: '3' }

interface Counts {
  tasks: number
  records: number
  tombstones: number
  counted: { n: number; idempotency_keys: number; tombstones: number } | null
  horizon: number
}

/** What D1 holds for the user, counted row by row, beside the counters the bounds are checked against. */
async function stored(userId: string): Promise<Counts> {
  const count = async (table: string) =>
    (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE user_id = ?1`).bind(userId).first<{ n: number }>())!
      .n
  return {
    tasks: await count('tasks'),
    records: await count('idempotency_keys'),
    tombstones: await count('task_tombstones'),
    counted: await env.DB.prepare('SELECT n, idempotency_keys, tombstones FROM task_counts WHERE user_id = ?1')
      .bind(userId)
      .first(),
    horizon:
      (await env.DB.prepare('SELECT horizon FROM task_counts WHERE user_id = ?1')
        .bind(userId)
        .first<number>('horizon')) ?? 0,
  }
}

/** The counters agree with the rows: the bounds are checked against the truth. */
function expectCountersTrue(counts: Counts) {
  expect(counts.counted).toEqual({ n: counts.tasks, idempotency_keys: counts.records, tombstones: counts.tombstones })
}

const keyedCreate = (user: SignedIn, key: string, limits: Partial<Env>, title = `task ${key}`) =>
  user.request('/tasks', { method: 'POST', body: { title }, headers: { 'Idempotency-Key': key }, env: limits })

/** A keyed create and then a delete: the cheapest way to leave a record and a tombstone behind. */
async function createAndDelete(user: SignedIn, key: string, limits: Partial<Env>) {
  const res = await keyedCreate(user, key, limits)
  expect(res.status, await res.clone().text()).toBe(201)
  const { id } = await res.json<{ id: string }>()
  expect((await user.request(`/tasks/${id}`, { method: 'DELETE', env: limits })).status).toBe(204)
  return id
}

async function feed(user: SignedIn, since: string | undefined, limits: Partial<Env>) {
  return user.request(`/tasks/changes${since ? `?since=${since}` : ''}`, { env: limits })
}

describe('Idempotency-Key records', () => {
  it('refuses a keyed create past the live-record budget with 429 and Retry-After, and stores nothing', async () => {
    const user = await signIn()
    for (let i = 0; i < 5; i++) await createAndDelete(user, `key-${i}`, QUOTA_5)
    expect(await stored(user.id)).toMatchObject({ tasks: 0, records: 5 })

    const res = await keyedCreate(user, 'key-5', QUOTA_5)
    const problem = await expectProblem(res, 429)
    expect(problem.type).toBe('/problems/rate-limited')
    expect(problem.detail).toMatch(/Idempotency-Key/)
    // The oldest record was made moments ago: it ages out a day from now.
    const retryAfter = Number(res.headers.get('Retry-After'))
    expect(retryAfter).toBeGreaterThan(24 * 3600 - 120)
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600)
    const after = await stored(user.id)
    expect(after).toMatchObject({ tasks: 0, records: 5 })
    expectCountersTrue(after)
  })

  it('still replays a live key and still creates without a key when the budget is spent', async () => {
    const user = await signIn()
    for (let i = 0; i < 5; i++) await createAndDelete(user, `key-${i}`, QUOTA_5)
    const replay = await keyedCreate(user, 'key-0', QUOTA_5)
    expect(replay.status).toBe(201)
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true')
    const plain = await user.request('/tasks', { method: 'POST', body: { title: 'no key' }, env: QUOTA_5 })
    expect(plain.status).toBe(201)
    expect(await stored(user.id)).toMatchObject({ tasks: 1, records: 5 })
  })

  it('frees the budget as records age out, deleting the expired ones in the same create', async () => {
    const user = await signIn()
    for (let i = 0; i < 5; i++) await createAndDelete(user, `key-${i}`, QUOTA_5)
    await expectProblem(await keyedCreate(user, 'key-5', QUOTA_5), 429)
    // A day and a second later for three of them: past the window, not yet purged by the cron.
    await env.DB.prepare(
      `UPDATE idempotency_keys SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day', '-1 second')
       WHERE user_id = ?1 AND key IN ('key-0', 'key-1', 'key-2')`,
    )
      .bind(user.id)
      .run()
    expect((await keyedCreate(user, 'key-5', QUOTA_5)).status).toBe(201)
    const after = await stored(user.id)
    expect(after).toMatchObject({ tasks: 1, records: 3 })
    expectCountersTrue(after)
  })

  it('answers 409 for the task quota, not 429, when the user is at both bounds', async () => {
    const user = await signIn()
    for (let i = 0; i < 5; i++) expect((await keyedCreate(user, `key-${i}`, QUOTA_5)).status).toBe(201)
    expect((await expectProblem(await keyedCreate(user, 'key-5', QUOTA_5), 409)).type).toBe('/problems/quota-exceeded')
  })

  it('follows IDEMPOTENCY_KEYS_PER_USER when it is set', async () => {
    const user = await signIn()
    for (let i = 0; i < 2; i++) await createAndDelete(user, `key-${i}`, TWO_KEYS)
    await expectProblem(await keyedCreate(user, 'key-2', TWO_KEYS), 429)
    expect(await stored(user.id)).toMatchObject({ tasks: 0, records: 2 })
  })

  it("never counts or frees another user's records", async () => {
    const [a, b] = [await signIn(), await signIn()]
    for (let i = 0; i < 5; i++) await createAndDelete(a, `key-${i}`, QUOTA_5)
    expect((await keyedCreate(b, 'key-0', QUOTA_5)).status).toBe(201)
    await expectProblem(await keyedCreate(a, 'key-5', QUOTA_5), 429)
    expect(await stored(a.id)).toMatchObject({ records: 5 })
    expect(await stored(b.id)).toMatchObject({ records: 1 })
  })
})

describe('tombstones', () => {
  it('past the cap purges the oldest early and raises the horizon, so a token from before gets 410', async () => {
    const user = await signIn()
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const res = await user.request('/tasks', { method: 'POST', body: { title: `t${i}` }, env: THREE_TOMBSTONES })
      ids.push((await res.json<{ id: string }>()).id)
    }
    const tokens: string[] = [(await (await feed(user, undefined, THREE_TOMBSTONES)).json<ChangesPage>()).token]
    for (const id of ids) {
      expect((await user.request(`/tasks/${id}`, { method: 'DELETE', env: THREE_TOMBSTONES })).status).toBe(204)
      tokens.push((await (await feed(user, tokens.at(-1), THREE_TOMBSTONES)).json<ChangesPage>()).token)
    }
    const after = await stored(user.id)
    expect(after).toMatchObject({ tasks: 0, tombstones: 3 })
    expectCountersTrue(after)
    // tokens[i] has seen i deletions. Two tombstones went early: a token that missed either is refused.
    for (const token of tokens.slice(0, 2)) await expectProblem(await feed(user, token, THREE_TOMBSTONES), 410)
    const page = await (await feed(user, tokens[2], THREE_TOMBSTONES)).json<ChangesPage>()
    expect(page.deleted).toEqual(ids.slice(2))
  })

  it('keeps the cap for deletes through /api and the MCP delete_task tool', async () => {
    const user = await signIn()
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const res = await user.request('/tasks', { method: 'POST', body: { title: `t${i}` }, env: THREE_TOMBSTONES })
      ids.push((await res.json<{ id: string }>()).id)
    }
    for (const number of [1, 2, 3, 4]) {
      expect((await user.request(`/api/tasks/${number}`, { method: 'DELETE', env: THREE_TOMBSTONES })).status).toBe(200)
    }
    const afterApi = await stored(user.id)
    expect(afterApi).toMatchObject({ tasks: 1, tombstones: 3 })
    expectCountersTrue(afterApi)
    const client = await mcpClient(await mcpToken(user.id), { env: THREE_TOMBSTONES })
    expect((await call(client, 'delete_task', { task_id: ids[4] })).isError).toBeFalsy()
    const afterMcp = await stored(user.id)
    expect(afterMcp).toMatchObject({ tasks: 0, tombstones: 3 })
    expectCountersTrue(afterMcp)
  })

  it('trims a bulk delete to the cap in the same transaction', async () => {
    const user = await signIn()
    for (let i = 0; i < 5; i++) {
      const body = { title: `t${i}`, completed: true }
      expect((await user.request('/tasks', { method: 'POST', body, env: THREE_TOMBSTONES })).status).toBe(201)
    }
    const res = await user.request('/tasks?completed=true', { method: 'DELETE', env: THREE_TOMBSTONES })
    expect(await res.json()).toEqual({ deleted: 5 })
    const after = await stored(user.id)
    expect(after).toMatchObject({ tasks: 0, tombstones: 3 })
    expectCountersTrue(after)
  })

  it('follows the task quota by default, and leaves the horizon alone below the cap', async () => {
    const user = await signIn()
    await createAndDelete(user, 'key-0', QUOTA_5)
    // Where the user's sequence started (migrations/0007): below the cap nothing raises it.
    const { horizon } = await stored(user.id)
    for (let i = 1; i < 5; i++) await createAndDelete(user, `key-${i}`, QUOTA_5)
    expect(await stored(user.id)).toMatchObject({ tombstones: 5, horizon })
    const another = await user.request('/tasks', { method: 'POST', body: { title: 'x' }, env: QUOTA_5 })
    const { id } = await another.json<{ id: string }>()
    await user.request(`/tasks/${id}`, { method: 'DELETE', env: QUOTA_5 })
    const after = await stored(user.id)
    expect(after).toMatchObject({ tombstones: 5 })
    expect(after.horizon).toBeGreaterThan(horizon)
  })

  it("never trims another user's tombstones", async () => {
    const [a, b] = [await signIn(), await signIn()]
    await createAndDelete(b, 'only', THREE_TOMBSTONES)
    const { horizon } = await stored(b.id)
    for (let i = 0; i < 5; i++) await createAndDelete(a, `key-${i}`, THREE_TOMBSTONES)
    expect(await stored(a.id)).toMatchObject({ tombstones: 3 })
    expect(await stored(b.id)).toMatchObject({ tombstones: 1, horizon })
  })
})

describe('the scheduled purges, with the counters', () => {
  it('report the rows they delete, not the counter updates their triggers make, and keep the counters true', async () => {
    const user = await signIn()
    for (let i = 0; i < 3; i++) await createAndDelete(user, `key-${i}`, QUOTA_5)
    // Far enough ahead that every record and tombstone in this file's database has expired.
    const later = Date.now() + 400 * 24 * 3600 * 1000
    const count = async (sql: string, bound: string) =>
      (await env.DB.prepare(sql).bind(bound).first<{ n: number }>())!.n
    const records = await count(
      'SELECT count(*) AS n FROM idempotency_keys WHERE created_at <= ?1',
      new Date(later).toISOString(),
    )
    const tombstones = await count(
      'SELECT count(*) AS n FROM task_tombstones WHERE deleted_at < ?1',
      new Date(later).toISOString(),
    )
    expect(records).toBeGreaterThanOrEqual(3)
    expect(await purgeExpiredIdempotencyKeys(env.DB, new Date(later + 24 * 3600 * 1000).toISOString())).toBe(records)
    expect(await purgeTombstones(env.DB, later + 31 * 24 * 3600 * 1000)).toBe(tombstones)
    const after = await stored(user.id)
    expect(after).toMatchObject({ records: 0, tombstones: 0 })
    expectCountersTrue(after)
  })
})
