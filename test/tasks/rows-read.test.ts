import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Task } from '../../src/tasks/model'
import type { ChangesPage } from '../../src/tasks/sync'
import { countingDb, queryPlan, request, type SignedIn, signIn } from '../helpers'

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
 * Every sort and filter the list serves from an index, and the index. Add a row here with each new
 * one; a combination no index can serve goes into "Rows-read budgets" in docs/performance.md instead.
 */
const LIST_CASES: { name: string; query: string; index: string }[] = [
  { name: 'newest first (the default sort)', query: '', index: 'tasks_by_user_number' },
  { name: 'newest first, completed=true', query: 'completed=true', index: 'tasks_by_user_completed_number' },
  { name: 'newest first, completed=false', query: 'completed=false', index: 'tasks_by_user_completed_number' },
  {
    name: 'oldest first, completed=true',
    query: 'sort=createdAt&completed=true',
    index: 'tasks_by_user_completed_number',
  },
  { name: 'sort=createdAt', query: 'sort=createdAt', index: 'tasks_by_user_number' },
  { name: 'sort=updatedAt', query: 'sort=updatedAt', index: 'tasks_by_user_seq' },
  { name: 'sort=-updatedAt', query: 'sort=-updatedAt', index: 'tasks_by_user_seq' },
  { name: 'sort=dueAt', query: 'sort=dueAt', index: 'tasks_by_user_due_nulls_high' },
  { name: 'sort=-dueAt', query: 'sort=-dueAt', index: 'tasks_by_user_due_nulls_low' },
  { name: 'sort=priority', query: 'sort=priority', index: 'tasks_by_user_priority' },
  { name: 'sort=-priority', query: 'sort=-priority', index: 'tasks_by_user_priority' },
  { name: 'sort=title', query: 'sort=title', index: 'tasks_by_user_title' },
  { name: 'sort=-title', query: 'sort=-title', index: 'tasks_by_user_title' },
  { name: 'sort=priority, priority=medium', query: 'sort=priority&priority=medium', index: 'tasks_by_user_priority' },
  { name: 'sort=-priority, priority=high', query: 'sort=-priority&priority=high', index: 'tasks_by_user_priority' },
  {
    name: 'sort=dueAt, dueAfter',
    query: 'sort=dueAt&dueAfter=2026-01-20T00:00:00Z',
    index: 'tasks_by_user_due_nulls_high',
  },
  {
    name: 'sort=dueAt, dueBefore',
    query: 'sort=dueAt&dueBefore=2026-02-01T00:00:00Z',
    index: 'tasks_by_user_due_nulls_high',
  },
  {
    name: 'sort=-dueAt, dueAfter',
    query: 'sort=-dueAt&dueAfter=2026-01-20T00:00:00Z',
    index: 'tasks_by_user_due_nulls_low',
  },
  {
    name: 'sort=-dueAt, dueAfter and dueBefore',
    query: 'sort=-dueAt&dueAfter=2026-01-10T00:00:00Z&dueBefore=2026-02-01T00:00:00Z',
    index: 'tasks_by_user_due_nulls_low',
  },
]

/** The index each sort needs: without it, the sort reads all of the caller's tasks. */
const SORT_INDEXES: [string, string][] = [
  ['tasks_by_user_number', ''],
  ['tasks_by_user_seq', 'sort=updatedAt'],
  ['tasks_by_user_due_nulls_high', 'sort=dueAt'],
  ['tasks_by_user_due_nulls_low', 'sort=-dueAt'],
  ['tasks_by_user_priority', 'sort=-priority'],
  ['tasks_by_user_title', 'sort=title'],
]

let caller: SignedIn
/** The other users' ids start with this: other test files share the database. */
const OTHERS = `others-${crypto.randomUUID()}-`

/**
 * One INSERT … SELECT: every 4th task is the caller's, the rest belong to 99 others; every 3rd is
 * completed. Sort values repeat, so that pages start inside runs of equal values: each of the
 * caller's titles is shared (case-insensitively) by 250 tasks, each priority by about 1,700, a
 * due date by about 5; every 5th task has no due date.
 */
async function seed(callerId: string) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
     INSERT INTO tasks (id, user_id, title, completed, priority, due_at, created_at, updated_at, completed_at, number)
     SELECT id, user_id, title, completed, priority, due_at, created_at, updated_at, completed_at,
            -- Each user's 1, 2, 3... in insertion order, as migrations/0006_task_numbers.sql requires.
            row_number() OVER (PARTITION BY user_id ORDER BY i)
     FROM (SELECT i, lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
                  || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) AS id,
            CASE WHEN i % ?3 = 0 THEN ?2 ELSE ?5 || (i % (?4 - 1)) END AS user_id,
            CASE WHEN i / 80 % 2 = 0 THEN 'Task ' ELSE 'task ' END || (i / 4 % 20) AS title,
            i % 3 = 0 AS completed,
            CASE i / 28 % 3 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' ELSE 'high' END AS priority,
            CASE WHEN i / 4 % 5 = 0 THEN NULL
                 ELSE strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i * 37 % 1000) || ' hours') END AS due_at,
            strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds') AS created_at,
            strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i * 7919 % 100000) || ' seconds') AS updated_at,
            CASE WHEN i % 3 = 0 THEN strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds') END AS completed_at
     FROM n)
     ORDER BY i`,
  )
    .bind(TOTAL_TASKS, callerId, CALLERS_SHARE, USERS, OTHERS)
    .run()
}

/** The rows D1 reports reading to answer one request, which must succeed, and its one statement. */
async function rowsRead(path: string): Promise<{ rows: number; body: unknown; sql: string; params: unknown[] }> {
  const { db, counter } = countingDb(env.DB)
  const res = await request(path, { token: caller.token, env: { DB: db } })
  expect(res.status, path).toBe(200)
  expect(counter.roundTrips, path).toBe(1)
  return { rows: counter.rowsRead, body: await res.json(), sql: counter.statements[0]!, params: counter.bindings[0]! }
}

beforeAll(async () => {
  caller = await signIn()
  await seed(caller.id)
  const counts = await env.DB.prepare(
    `SELECT count(*) AS total, count(DISTINCT user_id) AS users, sum(user_id = ?1) AS callers
     FROM tasks WHERE user_id = ?1 OR substr(user_id, 1, length(?2)) = ?2`,
  )
    .bind(caller.id, OTHERS)
    .first<{ total: number; users: number; callers: number }>()
  expect(counts).toEqual({ total: TOTAL_TASKS, users: USERS, callers: TOTAL_TASKS / CALLERS_SHARE })
})

describe('rows read per request (D1 meta.rows_read)', () => {
  for (const { name, query, index } of LIST_CASES) {
    it(`reads at most ${PAGE_BUDGET} rows for a page of ${PAGE}, first and next, through ${index}: ${name}`, async () => {
      const separator = query ? '&' : ''
      const first = await rowsRead(`/tasks?limit=${PAGE}${separator}${query}`)
      const page = first.body as { items: Task[]; nextCursor: string }
      expect(page.items).toHaveLength(PAGE)
      expect(first.rows).toBeLessThanOrEqual(PAGE_BUDGET)

      const next = await rowsRead(`/tasks?limit=${PAGE}${separator}${query}&cursor=${page.nextCursor}`)
      expect((next.body as { items: Task[] }).items).toHaveLength(PAGE)
      expect(next.rows).toBeLessThanOrEqual(PAGE_BUDGET)

      // The statements the requests really ran: an index search, with no scan and no sort step.
      for (const { sql, params } of [first, next]) {
        const plan = await queryPlan(sql, ...params)
        expect(plan, query).toMatch(new RegExp(`^SEARCH tasks USING INDEX ${index} \\(user_id=\\?`))
        expect(plan, query).not.toMatch(/SCAN|TEMP B-TREE/)
      }
    })
  }

  // These filters narrow no index: rows are checked as the sort's index yields them, so a page
  // reads further the rarer the matches are (docs/performance.md, "Rows-read budgets"). Still no scan of the
  // table and no sort step.
  const UNBOUNDED: [string, string][] = [
    ['q=task%201', 'tasks_by_user_number'],
    ['tag=a&tag=b&sort=title', 'tasks_by_user_title'],
    ['completed=true&sort=-dueAt', 'tasks_by_user_due_nulls_low'],
    ['priority=high', 'tasks_by_user_number'],
    ['priority=low&sort=updatedAt', 'tasks_by_user_seq'],
    ['dueBefore=2026-01-10T00:00:00Z&sort=-priority', 'tasks_by_user_priority'],
    ['overdue=true', 'tasks_by_user_completed_number'],
    ['overdue=true&sort=dueAt', 'tasks_by_user_due_nulls_high'],
    ['overdue=true&sort=-dueAt', 'tasks_by_user_due_nulls_low'],
  ]
  it("serves filters that narrow no index from the sort's index, with no table scan and no sort step", async () => {
    for (const [query, index] of UNBOUNDED) {
      const first = await rowsRead(`/tasks?limit=${PAGE}&${query}`)
      const { nextCursor } = first.body as { nextCursor: string | null }
      const pages = nextCursor ? [first, await rowsRead(`/tasks?limit=${PAGE}&${query}&cursor=${nextCursor}`)] : [first]
      for (const { sql, params } of pages) {
        const plan = await queryPlan(sql, ...params)
        expect(plan, query).toMatch(new RegExp(`^SEARCH tasks USING INDEX ${index} \\(user_id=\\?`))
        expect(plan, query).not.toMatch(/SCAN tasks|TEMP B-TREE/)
      }
    }
  })

  it('pages deep into runs of equal sort values without reading the rows already shown', async () => {
    // Page 20 of 50 lies inside a run of 250 equal titles, of about 1,700 equal priorities.
    for (const query of ['sort=title', 'sort=-priority']) {
      let cursor = ''
      for (let page = 1; page <= 20; page++) {
        const { rows, body } = await rowsRead(`/tasks?limit=${PAGE}&${query}${cursor}`)
        expect(rows, `${query}, page ${page}`).toBeLessThanOrEqual(PAGE_BUDGET)
        cursor = `&cursor=${(body as { nextCursor: string }).nextCursor}`
      }
    }
  })

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
      [
        'SELECT * FROM tasks WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 51',
        ['u', 1],
        /SEARCH tasks USING INDEX tasks_by_user_seq/,
      ],
      [
        'SELECT seq, id FROM task_tombstones WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 51',
        ['u', 1],
        /SEARCH task_tombstones USING PRIMARY KEY/,
      ],
      ['SELECT seq, horizon FROM task_counts WHERE user_id = ?1', ['u'], /SEARCH task_counts USING PRIMARY KEY/],
      [
        'SELECT count(*) FROM tasks WHERE user_id = ?1 AND completed = 1',
        ['u'],
        /SEARCH tasks USING (COVERING )?INDEX tasks_by_user_completed/,
      ],
      [
        'DELETE FROM tasks WHERE user_id = ?1 AND completed = 1',
        ['u'],
        /SEARCH tasks USING (COVERING )?INDEX tasks_by_user_completed/,
      ],
      ['SELECT user_id = ?1 AS mine FROM tasks WHERE id = ?2', ['u', 'x'], /SEARCH tasks USING PRIMARY KEY \(id=\?\)/],
      [
        'DELETE FROM task_tombstones WHERE deleted_at < ?1',
        ['x'],
        /SEARCH task_tombstones USING (COVERING )?INDEX task_tombstones_by_deleted/,
      ],
    ]
    for (const [sql, params, index] of shapes) {
      const detail = await queryPlan(sql, ...params)
      expect(detail, sql).toMatch(index)
      expect(detail, sql).not.toMatch(/SCAN|TEMP B-TREE/)
    }
  })

  // The budget must be able to fail: without its index a sort reads the caller's 5,000 tasks to
  // sort them. Each index is restored from its own definition afterwards.
  for (const [index, query] of SORT_INDEXES) {
    it(`exceeds the budget when ${index} is missing`, async () => {
      const { sql } = (await env.DB.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1")
        .bind(index)
        .first<{ sql: string }>())!
      await env.DB.exec(`DROP INDEX ${index}`)
      try {
        const { rows } = await rowsRead(`/tasks?limit=${PAGE}&${query}`)
        expect(rows).toBeGreaterThan(PAGE_BUDGET)
      } finally {
        await env.DB.prepare(sql).run()
      }
    })
  }
})
