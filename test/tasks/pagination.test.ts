import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Task } from '../../src/tasks/model'
import { expectProblem, invalidNames, type SignedIn, signIn } from '../helpers'

interface Page {
  items: Task[]
  nextCursor: string | null
}

let user: SignedIn
beforeEach(async () => {
  user = await signIn()
})

async function page(query: string): Promise<Page> {
  const res = await user.request(`/tasks?${query}`)
  expect(res.status).toBe(200)
  return res.json<Page>()
}

/** Seeds tasks with distinct, known creation times, oldest first, straight into D1. */
async function seed(count: number, { completedEvery = 0 } = {}): Promise<string[]> {
  const base = Date.UTC(2026, 0, 1)
  const ids: string[] = []
  const statements = Array.from({ length: count }, (_, i) => {
    const id = crypto.randomUUID()
    ids.push(id)
    const at = new Date(base + i * 1000).toISOString()
    const completed = completedEvery > 0 && i % completedEvery === 0 ? 1 : 0
    return env.DB.prepare(
      `INSERT INTO tasks (id, user_id, title, completed, created_at, updated_at, completed_at, number)
       VALUES (?1, ?2, ?3, ?4, ?5, ?5, CASE WHEN ?4 = 1 THEN ?5 END, coalesce((SELECT last_number FROM task_counts WHERE user_id = ?2), 0) + 1)`,
    ).bind(id, user.id, `task ${i}`, completed, at)
  })
  await env.DB.batch(statements)
  return ids
}

describe('GET /tasks', () => {
  it('lists newest first with a default page of 50', async () => {
    const ids = await seed(60)
    const first = await page('')
    expect(first.items.map((t) => t.id)).toEqual(ids.slice(10).reverse())
    expect(first.nextCursor).toEqual(expect.any(String))
    const second = await page(`cursor=${first.nextCursor}`)
    expect(second.items.map((t) => t.id)).toEqual(ids.slice(0, 10).reverse())
    expect(second.nextCursor).toBeNull()
  })

  it('honours limit 1 and 100 and ends with a null cursor on an exact last page', async () => {
    await seed(3)
    expect((await page('limit=1')).items).toHaveLength(1)
    const all = await page('limit=3')
    expect(all.items).toHaveLength(3)
    expect(all.nextCursor).toBeNull()
    expect((await page('limit=100')).items).toHaveLength(3)
  })

  it('orders tasks created in the same millisecond as they were created, without skipping or repeating', async () => {
    const at = '2026-03-01T00:00:00.000Z'
    const ids = Array.from({ length: 7 }, () => crypto.randomUUID())
    await env.DB.batch(
      ids.map((id) =>
        env.DB.prepare(
          `INSERT INTO tasks (id, user_id, title, created_at, updated_at, number)
           VALUES (?1, ?2, ?3, ?4, ?4, coalesce((SELECT last_number FROM task_counts WHERE user_id = ?2), 0) + 1)`,
        ).bind(id, user.id, 'same time', at),
      ),
    )
    for (const query of ['', 'sort=updatedAt&']) {
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const p: Page = await page(`${query}limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        seen.push(...p.items.map((t) => t.id))
        cursor = p.nextCursor
      } while (cursor)
      // Newest first by default, oldest written first by updatedAt: equal timestamps tie nothing.
      expect(seen, query).toEqual(query ? ids : [...ids].reverse())
    }
  })

  it('stays correct while tasks are added and deleted between pages', async () => {
    const ids = await seed(30)
    const first = await page('limit=10')
    expect(first.items.map((t) => t.id)).toEqual(ids.slice(20).reverse())

    // Meanwhile: a new task, a deleted task already seen, the one the cursor points at, and one not yet seen.
    await user.createTask({ title: 'added later' })
    for (const gone of [ids[25], ids[19], ids[15]]) await user.request(`/tasks/${gone}`, { method: 'DELETE' })

    const rest: string[] = []
    let cursor = first.nextCursor
    while (cursor) {
      const p = await page(`limit=10&cursor=${cursor}`)
      rest.push(...p.items.map((t) => t.id))
      cursor = p.nextCursor
    }
    const expected = ids
      .slice(0, 20)
      .reverse()
      .filter((id) => id !== ids[19] && id !== ids[15])
    expect(rest).toEqual(expected)
  })

  it('filters by completed, paging within the filter', async () => {
    const ids = await seed(12, { completedEvery: 3 })
    const done = ids.filter((_, i) => i % 3 === 0).reverse()
    const first = await page('completed=true&limit=3')
    expect(first.items.map((t) => t.id)).toEqual(done.slice(0, 3))
    expect(first.items.every((t) => t.completed)).toBe(true)
    const second = await page(`completed=true&limit=3&cursor=${first.nextCursor}`)
    expect(second.items.map((t) => t.id)).toEqual(done.slice(3))
    const open = await page('completed=false&limit=100')
    expect(open.items).toHaveLength(8)
    expect(open.items.every((t) => !t.completed)).toBe(true)
  })

  it('refuses a cursor reused with a different filter', async () => {
    await seed(5)
    const { nextCursor } = await page('limit=2')
    const problem = await expectProblem(await user.request(`/tasks?limit=2&completed=true&cursor=${nextCursor}`), 400)
    expect(invalidNames(problem)).toEqual(['cursor'])
  })

  it("cannot page into another user's tasks with a cursor", async () => {
    const other = await signIn()
    await other.createTask({ title: 'not yours' })
    await seed(3)
    const { nextCursor } = await page('limit=1')
    const res = await other.request(`/tasks?cursor=${nextCursor}`)
    const { items } = await res.json<Page>()
    expect(items.map((t) => t.title)).not.toContain('task 1')
  })
})
