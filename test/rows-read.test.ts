import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Task } from '../src/tasks/repo'
import type { ChangesPage } from '../src/tasks/sync'
import { countingDb, queryPlan, request, type SignedIn, signIn } from './helpers'

/**
 * D1 bills rows read, and a list that scans grows with the user's data. With 20,000 tasks spread
 * over 100 users, 5,000 of them the caller's, every page and every lookup must read only the rows
 * it returns (plus the one that tells a page has a successor).
 */
const TOTAL_TASKS = 20_000
const USERS = 100
const CALLERS_SHARE = 4 // every 4th task is the caller's: 5,000
const PAGE = 50
/** A page of 50 asks for 51 rows: the 51st only says whether there is a next page. */
const PAGE_BUDGET = PAGE + 1

/**
 * Every sort and filter the list supports. Add a row here with each new one; a combination no
 * index can serve goes into the README's "rows_read budgets" instead.
 */
const LIST_CASES: { name: string; query: string }[] = [
  { name: 'newest first (the default sort)', query: '' },
  { name: 'newest first, completed=true', query: 'completed=true' },
  { name: 'newest first, completed=false', query: 'completed=false' },
]

let caller: SignedIn

/** One INSERT … SELECT: every 4th task is the caller's, the rest belong to 99 others; every 3rd is completed. */
async function seed(callerId: string) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
     INSERT INTO tasks (id, user_id, title, completed, created_at, updated_at, completed_at)
     SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
                  || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
            CASE WHEN i % ?3 = 0 THEN ?2 ELSE 'other-' || (i % (?4 - 1)) END,
            'task ' || i,
            i % 3 = 0,
            strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds') AS at,
            strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'),
            CASE WHEN i % 3 = 0 THEN strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds') END
     FROM n`,
  )
    .bind(TOTAL_TASKS, callerId, CALLERS_SHARE, USERS)
    .run()
}

/** The rows D1 reports reading to answer one request, which must succeed. */
async function rowsRead(path: string): Promise<{ rows: number; body: unknown }> {
  const { db, counter } = countingDb(env.DB)
  const res = await request(path, { token: caller.token, env: { DB: db } })
  expect(res.status, path).toBe(200)
  expect(counter.roundTrips, path).toBe(1)
  return { rows: counter.rowsRead, body: await res.json() }
}

beforeAll(async () => {
  caller = await signIn()
  await seed(caller.id)
  const counts = await env.DB.prepare(
    'SELECT count(*) AS total, count(DISTINCT user_id) AS users, sum(user_id = ?1) AS callers FROM tasks',
  )
    .bind(caller.id)
    .first<{ total: number; users: number; callers: number }>()
  expect(counts).toEqual({ total: TOTAL_TASKS, users: USERS, callers: TOTAL_TASKS / CALLERS_SHARE })
})

describe('rows read per request (D1 meta.rows_read)', () => {
  for (const { name, query } of LIST_CASES) {
    it(`reads at most ${PAGE_BUDGET} rows for a page of ${PAGE}, first and next: ${name}`, async () => {
      const separator = query ? '&' : ''
      const first = await rowsRead(`/tasks?limit=${PAGE}${separator}${query}`)
      const page = first.body as { items: Task[]; nextCursor: string }
      expect(page.items).toHaveLength(PAGE)
      expect(first.rows).toBeLessThanOrEqual(PAGE_BUDGET)

      const next = await rowsRead(`/tasks?limit=${PAGE}${separator}${query}&cursor=${page.nextCursor}`)
      expect((next.body as { items: Task[] }).items).toHaveLength(PAGE)
      expect(next.rows).toBeLessThanOrEqual(PAGE_BUDGET)
    })
  }

  it('reads one row to fetch one task', async () => {
    const { results } = await env.DB.prepare('SELECT id FROM tasks WHERE user_id = ?1 LIMIT 1 OFFSET 2500')
      .bind(caller.id)
      .all<{ id: string }>()
    const { rows } = await rowsRead(`/tasks/${results[0]!.id}`)
    expect(rows).toBe(1)
  })

  // The feed reads one page of tasks and one of tombstones (each with its peek row) and the
  // user's sequence row. The walk from the beginning reads no tombstones.
  it(`reads at most ${PAGE_BUDGET} + 1 rows for a sync page of ${PAGE} from the beginning, ${2 * PAGE_BUDGET} + 1 since a token`, async () => {
    const first = await rowsRead(`/tasks/changes?limit=${PAGE}`)
    const page = first.body as ChangesPage
    expect(page.tasks).toHaveLength(PAGE)
    expect(first.rows).toBeLessThanOrEqual(PAGE_BUDGET + 1)
    const next = await rowsRead(`/tasks/changes?limit=${PAGE}&since=${page.token}`)
    expect((next.body as ChangesPage).tasks).toHaveLength(PAGE)
    expect(next.rows).toBeLessThanOrEqual(2 * PAGE_BUDGET + 1)
  })

  it('serves the feed, the tombstones, bulk delete and the ownership check from indexes', async () => {
    const shapes: [string, unknown[], RegExp][] = [
      ['SELECT * FROM tasks WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 51', ['u', 1], /SEARCH tasks USING INDEX tasks_by_user_seq/],
      ['SELECT seq, id FROM task_tombstones WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 51', ['u', 1], /SEARCH task_tombstones USING PRIMARY KEY/],
      ['SELECT seq, horizon FROM task_sync WHERE user_id = ?1', ['u'], /SEARCH task_sync USING PRIMARY KEY/],
      ['SELECT count(*) FROM tasks WHERE user_id = ?1 AND completed = 1', ['u'], /SEARCH tasks USING (COVERING )?INDEX tasks_by_user_completed/],
      ['DELETE FROM tasks WHERE user_id = ?1 AND completed = 1', ['u'], /SEARCH tasks USING (COVERING )?INDEX tasks_by_user_completed/],
      ['SELECT user_id = ?1 AS mine FROM tasks WHERE id = ?2', ['u', 'x'], /SEARCH tasks USING INDEX sqlite_autoindex_tasks_1/],
      ['DELETE FROM task_tombstones WHERE deleted_at < ?1', ['x'], /SEARCH task_tombstones USING (COVERING )?INDEX task_tombstones_by_deleted/],
    ]
    for (const [sql, params, index] of shapes) {
      const detail = await queryPlan(sql, ...params)
      expect(detail, sql).toMatch(index)
      expect(detail, sql).not.toMatch(/SCAN|TEMP B-TREE/)
    }
  })

  // The budget must be able to fail: without its index the default list reads the caller's
  // 5,000 tasks to sort them. The index is restored from its own definition afterwards.
  it('exceeds the budget when the list index is missing', async () => {
    const index = 'tasks_by_user_created'
    const { sql } = (await env.DB.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1")
      .bind(index)
      .first<{ sql: string }>())!
    await env.DB.exec(`DROP INDEX ${index}`)
    try {
      const { rows } = await rowsRead(`/tasks?limit=${PAGE}`)
      expect(rows).toBeGreaterThan(PAGE_BUDGET)
    } finally {
      await env.DB.prepare(sql).run()
    }
  })
})
