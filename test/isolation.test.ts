import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Task } from '../src/tasks/model'
import { expectProblem, invalidNames, type SignedIn, signIn, storedTask } from './helpers'

describe('user B against user A', () => {
  let a: SignedIn
  let b: SignedIn
  let task: Task

  beforeEach(async () => {
    a = await signIn()
    b = await signIn()
    task = await a.createTask({ title: 'A secret plan', description: 'for A only', tags: ['private'] })
  })

  async function expectUnchanged() {
    const row = await storedTask(task.id)
    expect(row).toMatchObject({
      user_id: a.id,
      title: 'A secret plan',
      description: 'for A only',
      completed: 0,
      tags: '["private"]',
      updated_at: task.updatedAt,
    })
    const res = await a.request(`/tasks/${task.id}`)
    expect(await res.json()).toEqual(task)
  }

  /** 403 problem+json that reveals nothing of the task. */
  async function expectForbidden(res: Response) {
    const problem = await expectProblem(res, 403)
    expect(problem.type).toBe('/problems/forbidden')
    const text = JSON.stringify(problem)
    for (const secret of ['A secret plan', 'for A only', 'private', a.id, task.createdAt]) {
      expect(text).not.toContain(secret)
    }
  }

  it('returns 403 with none of its data when B reads the task', async () => {
    await expectForbidden(await b.request(`/tasks/${task.id}`))
  })

  it('returns 403 and changes nothing when B patches the task', async () => {
    await expectForbidden(
      await b.request(`/tasks/${task.id}`, { method: 'PATCH', body: { title: 'pwned', completed: true } }),
    )
    await expectUnchanged()
  })

  it('returns 403 and changes nothing when B replaces the task', async () => {
    await expectForbidden(await b.request(`/tasks/${task.id}`, { method: 'PUT', body: { title: 'pwned' } }))
    await expectUnchanged()
  })

  it('returns 403 and keeps the task when B deletes it', async () => {
    await expectForbidden(await b.request(`/tasks/${task.id}`, { method: 'DELETE' }))
    await expectUnchanged()
  })

  it("keeps A's completed tasks when B deletes completed tasks in bulk", async () => {
    await a.request(`/tasks/${task.id}`, { method: 'PATCH', body: { completed: true } })
    await b.createTask({ completed: true })
    const res = await b.request('/tasks?completed=true', { method: 'DELETE' })
    expect(await res.json()).toEqual({ deleted: 1 })
    expect(await storedTask(task.id)).toMatchObject({ user_id: a.id, completed: 1 })
  })

  it("does not list A's tasks for B", async () => {
    await b.createTask({ title: "B's own" })
    const res = await b.request('/tasks')
    const { items } = await res.json<{ items: Task[] }>()
    expect(items.map((t) => t.title)).toEqual(["B's own"])
  })

  it('refuses user_id or userId in a body, and stores nothing', async () => {
    for (const field of ['user_id', 'userId']) {
      const res = await b.request('/tasks', { method: 'POST', body: { title: 'planted', [field]: a.id } })
      const problem = await expectProblem(res, 400)
      expect(invalidNames(problem)).toEqual([`#/${field}`])
      const patch = await b.request(`/tasks/${task.id}`, { method: 'PATCH', body: { [field]: b.id } })
      expect(invalidNames(await expectProblem(patch, 400))).toEqual([`#/${field}`])
    }
    const planted = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE title = 'planted'").first<{
      n: number
    }>()
    expect(planted?.n).toBe(0)
    await expectUnchanged()
  })

  it('refuses user_id or userId in the query', async () => {
    for (const param of ['user_id', 'userId']) {
      const list = await expectProblem(await b.request(`/tasks?${param}=${a.id}`), 400)
      expect(invalidNames(list)).toEqual([param])
      const item = await expectProblem(await b.request(`/tasks/${task.id}?${param}=${a.id}`), 400)
      expect(invalidNames(item)).toEqual([param])
    }
  })

  it('answers 404, not 403, for an id that no one has', async () => {
    const res = await b.request(`/tasks/${crypto.randomUUID()}`)
    expect((await expectProblem(res, 404)).type).toBe('/problems/not-found')
  })

  it('gives A full access to the same task all along', async () => {
    const res = await a.request(`/tasks/${task.id}`, { method: 'PATCH', body: { completed: true } })
    expect(res.status).toBe(200)
    expect((await storedTask(task.id))?.completed).toBe(1)
  })
})
