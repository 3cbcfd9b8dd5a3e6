import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { countingDb, expectProblem, invalidNames, request, type SignedIn, signIn } from '../helpers'

let a: SignedIn
let b: SignedIn
beforeEach(async () => {
  a = await signIn()
  b = await signIn()
})

const idsOf = async (userId: string, completed: 0 | 1) =>
  (
    await env.DB.prepare('SELECT id FROM tasks WHERE user_id = ?1 AND completed = ?2 ORDER BY id')
      .bind(userId, completed)
      .all<{ id: string }>()
  ).results.map((r) => r.id)

async function seed(user: SignedIn) {
  for (const completed of [true, false, true, false, true]) await user.createTask({ completed })
}

describe('DELETE /tasks?completed=true', () => {
  it("deletes only the caller's completed tasks and says how many", async () => {
    await seed(a)
    await seed(b)
    const bCompleted = await idsOf(b.id, 1)
    const aOpen = await idsOf(a.id, 0)
    const aCompleted = await idsOf(a.id, 1)

    const res = await a.request('/tasks?completed=true', { method: 'DELETE' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ deleted: 3 })
    expect(await idsOf(a.id, 1)).toEqual([])
    expect(await idsOf(a.id, 0)).toEqual(aOpen)
    expect(await idsOf(b.id, 1)).toEqual(bCompleted)
    expect(await idsOf(b.id, 0)).toHaveLength(2)

    // Each deletion leaves a tombstone for the sync feed, under its owner only.
    const { results } = await env.DB.prepare(
      'SELECT user_id, id FROM task_tombstones WHERE user_id IN (?1, ?2) ORDER BY id',
    )
      .bind(a.id, b.id)
      .all<{ user_id: string; id: string }>()
    expect(results).toEqual(aCompleted.map((id) => ({ user_id: a.id, id })))
  })

  it('answers {"deleted": 0} when there is nothing to delete', async () => {
    await a.createTask()
    const res = await a.request('/tasks?completed=true', { method: 'DELETE' })
    expect(await res.json()).toEqual({ deleted: 0 })
    expect(await idsOf(a.id, 0)).toHaveLength(1)
  })

  it('costs one D1 round trip', async () => {
    await seed(a)
    const { db, counter } = countingDb(env.DB)
    const res = await request('/tasks?completed=true', { method: 'DELETE', token: a.token, env: { DB: db } })
    expect(await res.json()).toEqual({ deleted: 3 })
    expect(counter.roundTrips).toBe(1)
  })

  it('refuses to run without completed=true, and deletes nothing', async () => {
    await seed(a)
    for (const [query, detail] of [
      ['', /is required/],
      ['?completed=false', /must be true/],
      ['?completed=yes', /must be true/],
      ['?completed=', /must be true/],
      ['?completed=true&completed=true', /only once/],
    ] as const) {
      const problem = await expectProblem(await a.request(`/tasks${query}`, { method: 'DELETE' }), 400)
      expect(invalidNames(problem), query).toEqual(['completed'])
      expect(JSON.stringify(problem.errors), query).toMatch(detail)
    }
    for (const query of ['?completed=true&user_id=x', '?completed=true&limit=1', '?completed=true&cursor=x']) {
      await expectProblem(await a.request(`/tasks${query}`, { method: 'DELETE' }), 400)
    }
    expect(await idsOf(a.id, 1)).toHaveLength(3)
  })

  it('refuses a request without a token before touching anything', async () => {
    await seed(a)
    expect((await request('/tasks?completed=true', { method: 'DELETE' })).status).toBe(401)
    expect(await idsOf(a.id, 1)).toHaveLength(3)
  })
})
