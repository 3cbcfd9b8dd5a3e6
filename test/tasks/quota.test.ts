import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { expectProblem, type SignedIn, signIn } from '../helpers'

const countOf = async (userId: string) => {
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM tasks WHERE user_id = ?1) AS stored,
            (SELECT n FROM task_counts WHERE user_id = ?1) AS counted`,
  )
    .bind(userId)
    .first<{ stored: number; counted: number | null }>()
  return row!
}

const create = (user: SignedIn, quota: Partial<Env>, title = 'A task') =>
  user.request('/tasks', { method: 'POST', body: { title }, env: quota })

async function expectQuotaExceeded(res: Response, quota: number) {
  const problem = await expectProblem(res, 409)
  expect(problem.type).toBe('/problems/quota-exceeded')
  expect(problem.detail).toContain(String(quota))
}

describe('per-user task quota (TASK_QUOTA)', () => {
  const three = { TASK_QUOTA: '3' }

  it('refuses the create past the quota with 409 of its own type, and writes nothing', async () => {
    const user = await signIn()
    for (let i = 0; i < 3; i++) expect((await create(user, three)).status).toBe(201)
    await expectQuotaExceeded(await create(user, three, 'one too many'), 3)
    expect(await countOf(user.id)).toEqual({ stored: 3, counted: 3 })
    const titles = await env.DB.prepare('SELECT title FROM tasks WHERE user_id = ?1')
      .bind(user.id)
      .all<{ title: string }>()
    expect(titles.results.map((r) => r.title)).not.toContain('one too many')
  })

  it('frees a place when a task is deleted', async () => {
    const user = await signIn()
    const tasks = []
    for (let i = 0; i < 3; i++) tasks.push(await (await create(user, three)).json<{ id: string }>())
    expect((await create(user, three)).status).toBe(409)
    expect((await user.request(`/tasks/${tasks[0]!.id}`, { method: 'DELETE', env: three })).status).toBe(204)
    expect(await countOf(user.id)).toEqual({ stored: 2, counted: 2 })
    expect((await create(user, three)).status).toBe(201)
  })

  it("counts each user's tasks alone: a full account never blocks another", async () => {
    const full = await signIn()
    const other = await signIn()
    for (let i = 0; i < 3; i++) await create(full, three)
    expect((await create(full, three)).status).toBe(409)
    expect((await create(other, three)).status).toBe(201)
  })

  it('lets exactly the quota through when creates race', async () => {
    const user = await signIn()
    const five = { TASK_QUOTA: '5' }
    const statuses = await Promise.all(Array.from({ length: 20 }, () => create(user, five).then((r) => r.status)))
    expect(statuses.filter((s) => s === 201)).toHaveLength(5)
    expect(statuses.filter((s) => s === 409)).toHaveLength(15)
    expect(await countOf(user.id)).toEqual({ stored: 5, counted: 5 })
  })

  it('enforces the shipped default of 10,000 without counting rows on each create', { timeout: 60_000 }, async () => {
    const user = await signIn()
    // 9,999 tasks stored directly, through the same triggers every insert fires.
    await env.DB.prepare(
      `WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 9999)
       INSERT INTO tasks (id, user_id, title, created_at, updated_at, number)
       SELECT printf('%s-%012d', substr(?3, 1, 23), n), ?1, 'seeded', ?2, ?2, n FROM i`,
    )
      .bind(user.id, new Date().toISOString(), crypto.randomUUID())
      .run()
    const shipped = { TASK_QUOTA: '' } // as wrangler.toml ships it: the default (src/config.ts)
    expect((await create(user, shipped, 'the 10,000th')).status).toBe(201)
    await expectQuotaExceeded(await create(user, shipped, 'the 10,001st'), 10_000)
    expect(await countOf(user.id)).toEqual({ stored: 10_000, counted: 10_000 })
  })
})

describe('the task count kept by triggers', () => {
  it('stays equal to the stored rows through creates, updates and deletes', async () => {
    const user = await signIn()
    const a = await user.createTask()
    await user.createTask()
    await user.request(`/tasks/${a.id}`, { method: 'PATCH', body: { completed: true } })
    await user.request(`/tasks/${a.id}`, { method: 'DELETE' })
    expect(await countOf(user.id)).toEqual({ stored: 1, counted: 1 })
  })

  it('refuses to move a task to another user, even from SQL', async () => {
    const owner = await signIn()
    const task = await owner.createTask()
    // Bumps the version as every write must (migration 0004), so only the owner rule can refuse it.
    const move = "UPDATE tasks SET user_id = 'someone-else', version = version + 1 WHERE id = ?1"
    await expect(env.DB.prepare(move).bind(task.id).run()).rejects.toThrow(/user_id is immutable/)
  })
})
