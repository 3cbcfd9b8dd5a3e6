import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { countingDb, expectProblem, invalidNames, queryPlan, request, signIn } from '../helpers'

describe('GET /tasks?remindBefore= & remindAfter=', () => {
  it("lists the caller's tasks by reminder time, and only the caller's", async () => {
    const user = await signIn()
    const other = await signIn()
    const at = (remindAt: string | null, title: string) => user.createTask({ title, remindAt })
    await at('2027-01-01T08:00:00.000Z', 'early')
    await at('2027-01-01T09:00:00.000Z', 'nine')
    await at('2027-01-01T10:00:00.000Z', 'late')
    await at(null, 'none')
    await other.createTask({ title: 'theirs', remindAt: '2027-01-01T08:30:00.000Z' })
    const titles = async (query: string) => {
      const res = await user.request(`/tasks?sort=title&${query}`)
      expect(res.status).toBe(200)
      return (await res.json<{ items: { title: string }[] }>()).items.map((t) => t.title)
    }
    expect(await titles('remindBefore=2027-01-01T09:00:00Z')).toEqual(['early'])
    expect(await titles('remindAfter=2027-01-01T09:00:00Z')).toEqual(['late', 'nine'])
    expect(await titles('remindAfter=2027-01-01T08:00:00Z&remindBefore=2027-01-01T10:00:00Z')).toEqual([
      'early',
      'nine',
    ])
  })

  it('refuses a reminder bound that is not a date-time', async () => {
    const user = await signIn()
    const problem = await expectProblem(await user.request('/tasks?remindBefore=soon'), 400)
    expect(invalidNames(problem)).toEqual(['remindBefore'])
  })

  it("reads the range from the reminder index, not the user's other tasks", async () => {
    const user = await signIn()
    await user.createTask({ remindAt: '2027-01-01T08:00:00.000Z' })
    const { db, counter } = countingDb(env.DB)
    const res = await request('/tasks?remindBefore=2027-01-02T00:00:00Z', { token: user.token, env: { DB: db } })
    expect(res.status).toBe(200)
    const plan = await queryPlan(counter.statements[0]!, ...counter.bindings[0]!)
    expect(plan).toContain('USING INDEX tasks_by_user_remind (user_id=? AND remind_at<?)')
  })
})
