/** GET /api/.../tasks: the FastAPI list's parameters mapped onto the main API's filters and sorts. */
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { MAX_LIST_SIZE } from '../../src/compat/requests'
import type { ApiTask } from '../../src/compat/task'
import { countingDb, expectProblem, invalidNames, queryPlan, request, type SignedIn, signIn } from '../helpers'

let user: SignedIn
/** Titles in creation order. */
const SEEDS = [
  { title: 'Banana', priority: 'low', due_date: '2026-05-03', completed: false },
  { title: 'apple', priority: 'high', due_date: null, completed: true },
  { title: 'Cherry pie', priority: 'medium', due_date: '2026-05-01', completed: false, description: 'bake a PIE' },
  { title: 'date', priority: 'high', due_date: '2026-05-02', completed: false },
  { title: 'Elderberry', priority: 'low', due_date: null, completed: true },
] as const

beforeAll(async () => {
  user = await signIn()
  for (const seed of SEEDS) {
    const res = await user.request('/api/tasks', { method: 'POST', body: seed })
    expect(res.status).toBe(201)
  }
  // Written again, unchanged, in reverse order of creation, so that the updated_at sort differs
  // from the created_at one: the first task created is the last one written.
  for (const [index, seed] of [...SEEDS.entries()].reverse()) {
    const body = { title: seed.title }
    expect((await user.request(`/api/tasks/${index + 1}`, { method: 'PATCH', body })).status).toBe(200)
  }
})

const titles = async (query: string, who = user) => {
  const res = await who.request(`/api/tasks${query ? `?${query}` : ''}`)
  expect(res.status, query).toBe(200)
  return (await res.json<ApiTask[]>()).map((t) => t.title)
}

describe('GET /api/tasks', () => {
  it("returns a plain array of all the caller's tasks, newest first, and no one else's", async () => {
    const other = await signIn()
    await other.request('/api/tasks', { method: 'POST', body: { title: 'not yours' } })
    expect(await titles('')).toEqual(['Elderberry', 'date', 'Cherry pie', 'apple', 'Banana'])
    const res = await user.request(`/api/${user.id}/tasks`)
    expect(Array.isArray(await res.json())).toBe(true)
  })

  it('filters by status=all|pending|completed', async () => {
    expect(await titles('status=all')).toHaveLength(5)
    expect(await titles('status=pending')).toEqual(['date', 'Cherry pie', 'Banana'])
    expect(await titles('status=completed')).toEqual(['Elderberry', 'apple'])
    expect(await titles('status=COMPLETED')).toEqual(['Elderberry', 'apple'])
  })

  it('searches titles and descriptions, ignoring case', async () => {
    expect(await titles('search=pie')).toEqual(['Cherry pie'])
    expect(await titles('search=APPLE')).toEqual(['apple'])
    expect(await titles('search=bake')).toEqual(['Cherry pie'])
    expect(await titles('search=%25')).toEqual([])
  })

  it('filters by priority, in any case, and all means any', async () => {
    expect(await titles('priority=high')).toEqual(['date', 'apple'])
    expect(await titles('priority=Low&status=pending')).toEqual(['Banana'])
    expect(await titles('priority=all')).toHaveLength(5)
  })

  it('sorts by each field, by sort or sort_by, in the order given by order or sort_order', async () => {
    expect(await titles('sort=created_at&order=asc')).toEqual(['Banana', 'apple', 'Cherry pie', 'date', 'Elderberry'])
    expect(await titles('sort_by=created_at&sort_order=desc')).toEqual([
      'Elderberry',
      'date',
      'Cherry pie',
      'apple',
      'Banana',
    ])
    expect(await titles('sort=updated_at')).toEqual(['Banana', 'apple', 'Cherry pie', 'date', 'Elderberry'])
    expect(await titles('sort=title')).toEqual(['apple', 'Banana', 'Cherry pie', 'date', 'Elderberry'])
    expect(await titles('sort_by=title&order=desc')).toEqual(['Elderberry', 'date', 'Cherry pie', 'Banana', 'apple'])
    // Soonest first; no due date last, both ways (between those two, ids decide: random UUIDs).
    const soonest = await titles('sort=due_date')
    expect(soonest.slice(0, 3)).toEqual(['Cherry pie', 'date', 'Banana'])
    expect(soonest.slice(3).sort()).toEqual(['Elderberry', 'apple'])
    const latest = await titles('sort=due_date&sort_order=desc')
    expect(latest.slice(0, 3)).toEqual(['Banana', 'date', 'Cherry pie'])
    expect(latest.slice(3).sort()).toEqual(['Elderberry', 'apple'])
    // High first by default; ties by id in the same direction.
    const byPriority = await titles('sort=priority')
    expect(byPriority.slice(0, 2).sort()).toEqual(['apple', 'date'])
    expect(byPriority[2]).toBe('Cherry pie')
    expect((await titles('sort=priority&order=asc')).slice(0, 2).sort()).toEqual(['Banana', 'Elderberry'])
  })

  it('honours skip and limit', async () => {
    expect(await titles('sort=title&limit=2')).toEqual(['apple', 'Banana'])
    expect(await titles('sort=title&skip=2&limit=2')).toEqual(['Cherry pie', 'date'])
    expect(await titles('sort=title&skip=4')).toEqual(['Elderberry'])
    expect(await titles('skip=5')).toEqual([])
  })

  it('ignores unknown parameters and empty values, as FastAPI did', async () => {
    expect(await titles('category=home&page=2&status=&search=&priority=&sort=&limit=')).toHaveLength(5)
  })

  it('answers 422 naming each parameter for an unknown value of a known one, and for a repeated one', async () => {
    const res = await user.request(
      '/api/tasks?status=done&sort=name&order=up&priority=urgent&limit=0&skip=-1&sort_order=sideways',
    )
    const problem = await expectProblem(res, 422)
    expect(invalidNames(problem).sort()).toEqual(['limit', 'order', 'priority', 'skip', 'sort', 'sort_order', 'status'])
    expect(problem.detail).toMatch(/^Invalid query parameters\. status: must be one of all, pending, completed; /)
    for (const query of [
      `limit=${MAX_LIST_SIZE + 1}`,
      'limit=1.5',
      'status=all&status=pending',
      'sort=title&sort_by=due_date',
    ]) {
      await expectProblem(await user.request(`/api/tasks?${query}`), 422)
    }
  })

  it('answers { tasks, total } with API_LIST_FORMAT=object, total counting every match', async () => {
    const list = (query: string) =>
      request(`/api/tasks?${query}`, { token: user.token, env: { API_LIST_FORMAT: 'object' } }).then((r) => {
        expect(r.status).toBe(200)
        return r.json<{ tasks: ApiTask[]; total: number }>()
      })
    const all = await list('limit=2')
    expect(all.total).toBe(5)
    expect(all.tasks.map((t) => t.title)).toEqual(['Elderberry', 'date'])
    const pending = await list('status=pending&limit=1&skip=1')
    expect(pending).toEqual({ tasks: [expect.objectContaining({ title: 'Cherry pie' })], total: 3 })
    expect(await list('search=nothing-matches')).toEqual({ tasks: [], total: 0 })
    const fresh = await signIn()
    expect(
      await (await request('/api/tasks', { token: fresh.token, env: { API_LIST_FORMAT: 'object' } })).json(),
    ).toEqual({ tasks: [], total: 0 })
  })

  it('fails closed with 500 when API_LIST_FORMAT is neither array nor object', async () => {
    const res = await request('/api/tasks', { token: user.token, env: { API_LIST_FORMAT: 'objects' } })
    expect((await expectProblem(res, 500)).type).toBe('/problems/server-misconfigured')
  })
})

describe('rows read by GET /api/tasks (D1 meta.rows_read)', () => {
  let big: SignedIn
  const TASKS = MAX_LIST_SIZE + 200

  beforeAll(async () => {
    big = await signIn()
    // Another user's tasks interleaved with the caller's, so that a scan would show.
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1 * 2)
       INSERT INTO tasks (id, user_id, title, completed, completed_at, priority, created_at, updated_at, number)
       SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
                    || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
              CASE WHEN i % 2 = 0 THEN ?2 ELSE ?3 END, 'seeded ' || i, i % 4 = 0,
              CASE WHEN i % 4 = 0 THEN '2026-01-01T00:00:00.000Z' END,
              CASE i % 3 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' ELSE 'high' END,
              strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'),
              strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'),
              i / 2 + 1
       FROM n`,
    )
      .bind(TASKS, big.id, `other-${crypto.randomUUID()}`)
      .run()
  })

  /** The rows read by one successful request, its one statement, and the body. */
  async function rowsRead(path: string) {
    const { db, counter } = countingDb(env.DB)
    const res = await request(path, { token: big.token, env: { DB: db } })
    expect(res.status, path).toBe(200)
    expect(counter.roundTrips, path).toBe(1)
    return {
      rows: counter.rowsRead,
      body: await res.json<ApiTask[]>(),
      sql: counter.statements[0]!,
      params: counter.bindings[0]!,
    }
  }

  it(`returns at most ${MAX_LIST_SIZE} tasks without a limit, reading no more than those plus one`, async () => {
    const { rows, body } = await rowsRead('/api/tasks')
    expect(body).toHaveLength(MAX_LIST_SIZE)
    expect(rows).toBeLessThanOrEqual(MAX_LIST_SIZE + 1)
    const rest = await rowsRead(`/api/tasks?skip=${MAX_LIST_SIZE}`)
    expect(rest.body).toHaveLength(TASKS - MAX_LIST_SIZE)
  })

  for (const [query, index] of [
    ['limit=50', 'tasks_by_user_number'],
    ['limit=50&sort=created_at&order=asc', 'tasks_by_user_number'],
    ['limit=50&status=completed', 'tasks_by_user_completed_number'],
    ['limit=50&status=pending', 'tasks_by_user_completed_number'],
    ['limit=50&sort=priority', 'tasks_by_user_priority'],
    ['limit=50&sort=priority&priority=high', 'tasks_by_user_priority'],
    ['limit=50&sort=title', 'tasks_by_user_title'],
    ['limit=50&sort=due_date', 'tasks_by_user_due_nulls_high'],
    ['limit=50&sort=updated_at&order=desc', 'tasks_by_user_seq'],
  ] as const) {
    it(`reads at most the 50 rows it returns plus one through ${index}: ${query}`, async () => {
      const { rows, body, sql, params } = await rowsRead(`/api/tasks?${query}`)
      expect(body).toHaveLength(50)
      expect(rows).toBeLessThanOrEqual(51)
      const plan = await queryPlan(sql, ...params)
      expect(plan).toMatch(new RegExp(`^SEARCH tasks USING INDEX ${index} \\(user_id=\\?`))
      expect(plan).not.toMatch(/SCAN|TEMP B-TREE/)
    })
  }

  it('reads no more rows to get, change, toggle or delete a task by number than the main API does by id', async () => {
    const measure = async (method: string, path: string, body?: unknown) => {
      const { db, counter } = countingDb(env.DB)
      const res = await request(path, { method, token: big.token, body, env: { DB: db } })
      expect(res.status, `${method} ${path}`).toBeLessThan(300)
      return counter.rowsRead
    }
    const idOf = async (number: number) =>
      (await env.DB.prepare('SELECT id FROM tasks WHERE user_id = ?1 AND number = ?2')
        .bind(big.id, number)
        .first<{ id: string }>())!.id
    const [seven, eight] = [await idOf(7), await idOf(8)]
    expect(await measure('GET', '/api/tasks/7')).toBe(1)
    for (const [method, suffix, body, mainMethod, mainBody] of [
      ['PUT', '', { title: 'edited' }, 'PATCH', { title: 'edited' }],
      ['PATCH', '/complete', undefined, 'PATCH', { completed: true }],
      ['DELETE', '', undefined, 'DELETE', undefined],
    ] as const) {
      const compat = await measure(method, `/api/tasks/7${suffix}`, body)
      const main = await measure(mainMethod, `/tasks/${method === 'DELETE' ? eight : seven}`, mainBody)
      expect(compat, `${method} ${suffix}: ${compat} rows, the main API ${main}`).toBeLessThanOrEqual(main)
    }
  })
})
