import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { countingDb, request, type SignedIn, signIn } from '../helpers'
import { mcpToken, RPC_HEADERS, rpcMessage } from '../mcp/client'

/**
 * D1 round trips of every single-task write, through every door: 1, and 2 where completing a
 * recurring task creates its successor (the write is planned from the row the first one read).
 * The counting database records every statement, a batch's included.
 */
const DUE = '2026-06-01T09:00:00.000Z'
const daily = { title: 'Water the plants', dueAt: DUE, recurrence: { frequency: 'daily' } }

type Door = (user: SignedIn, db: D1Database) => Promise<Response>

const api =
  (method: string, path: (n: number) => string, body?: unknown): ((n: number) => Door) =>
  (n) =>
  (user, db) =>
    request(`/api/${user.id}/tasks${path(n)}`, { method, token: user.token, body, env: { DB: db } })

const rest =
  (method: string, body?: unknown): ((id: string) => Door) =>
  (id) =>
  (user, db) =>
    request(`/tasks/${id}`, { method, token: user.token, body, env: { DB: db } })

const tool =
  (name: string, args: Record<string, unknown>): ((n: number) => Door) =>
  (n) =>
  async (user, db) => {
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: { task_id: n, ...args } } }
    const res = await request('/mcp', {
      method: 'POST',
      token: await mcpToken(user.id),
      body,
      headers: RPC_HEADERS,
      env: { DB: db },
    })
    const message = await rpcMessage(res)
    expect(message.result?.isError, JSON.stringify(message)).toBeFalsy()
    return new Response(null, { status: res.status })
  }

/** Runs `door` on a fresh task (recurring or not) of a new user; the round trips it took. */
async function roundTrips(recurring: boolean, door: (task: { id: string; number: number }) => Door) {
  const user = await signIn()
  const task = await user.createTask(recurring ? daily : { title: 'Once' })
  const { db, counter } = countingDb(env.DB)
  const res = await door(task)(user, db)
  expect(res.status, counter.statements.join(' | ')).toBeLessThan(300)
  return counter.roundTrips
}

describe('D1 round trips of a single-task write, per door', () => {
  const plain: [string, (task: { id: string; number: number }) => Door][] = [
    ['REST PATCH a field', ({ id }) => rest('PATCH', { title: 'x' })(id)],
    ['REST PATCH completed', ({ id }) => rest('PATCH', { completed: true })(id)],
    ['REST PUT', ({ id }) => rest('PUT', { title: 'x', completed: true })(id)],
    ['REST DELETE', ({ id }) => rest('DELETE')(id)],
    ['/api PUT a field', ({ number }) => api('PUT', (n) => `/${n}`, { title: 'x' })(number)],
    ['/api PATCH a field', ({ number }) => api('PATCH', (n) => `/${n}`, { priority: 'high' })(number)],
    ['/api PATCH toggle', ({ number }) => api('PATCH', (n) => `/${n}/toggle`)(number)],
    ['/api PATCH complete', ({ number }) => api('PATCH', (n) => `/${n}/complete`, { completed: true })(number)],
    ['/api DELETE', ({ number }) => api('DELETE', (n) => `/${n}`)(number)],
    ['MCP complete_task', ({ number }) => tool('complete_task', {})(number)],
    ['MCP update_task', ({ number }) => tool('update_task', { title: 'x' })(number)],
    ['MCP delete_task', ({ number }) => tool('delete_task', {})(number)],
  ]
  for (const [name, door] of plain) {
    it(`is 1 for ${name} of a task without a rule`, async () => {
      expect(await roundTrips(false, door)).toBe(1)
    })
  }

  const completions: [string, (task: { id: string; number: number }) => Door][] = [
    ['REST PATCH completed', ({ id }) => rest('PATCH', { completed: true })(id)],
    ['REST PUT completed', ({ id }) => rest('PUT', { ...daily, completed: true })(id)],
    ['/api PATCH toggle', ({ number }) => api('PATCH', (n) => `/${n}/toggle`)(number)],
    ['/api POST toggle', ({ number }) => api('POST', (n) => `/${n}/toggle`)(number)],
    ['/api PATCH complete', ({ number }) => api('PATCH', (n) => `/${n}/complete`, { completed: true })(number)],
    ['/api PUT completed', ({ number }) => api('PUT', (n) => `/${n}`, { completed: true })(number)],
    ['MCP complete_task', ({ number }) => tool('complete_task', {})(number)],
  ]
  for (const [name, door] of completions) {
    it(`is 2 for ${name} of a recurring task, which creates its successor`, async () => {
      expect(await roundTrips(true, door)).toBe(2)
    })
  }

  it('is 2 for an /api write that names the rule by its enum: the stored rule is read first', async () => {
    const door = ({ number }: { number: number }) => api('PUT', (n) => `/${n}`, { recurrence_interval: 3 })(number)
    expect(await roundTrips(true, door)).toBe(2)
  })

  it('is 2 for a write that sets a rule: it is planned from the stored task, whose due date and zone the rule needs', async () => {
    const weekly = { recurrence: { frequency: 'weekly' } }
    // A task with a due date and no rule: a weekly rule takes its weekday from the stored due date.
    const dated = async (door: (task: { id: string; number: number }) => Door) => {
      const user = await signIn()
      const task = await user.createTask({ title: 'Dated', dueAt: DUE })
      const { db, counter } = countingDb(env.DB)
      const res = await door(task)(user, db)
      expect(res.status, await res.clone().text()).toBe(200)
      return counter.roundTrips
    }
    expect(await dated(({ id }) => rest('PATCH', weekly)(id))).toBe(2)
    expect(await dated(({ number }) => tool('update_task', { recurrence: { frequency: 'weekly' } })(number))).toBe(2)
  })

  it('creates exactly one successor on each of those completions', async () => {
    const user = await signIn()
    const task = await user.createTask(daily)
    const res = await request(`/api/${user.id}/tasks/${task.number}/toggle`, { method: 'PATCH', token: user.token })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ completed: true, next_task_id: task.number + 1 })
    const { n } = (await env.DB.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1')
      .bind(user.id)
      .first<{ n: number }>())!
    expect(n).toBe(2)
  })
})
