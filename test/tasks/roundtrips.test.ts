import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { countingDb, request, signIn } from '../helpers'

/** Each success path costs one D1 round trip: RETURNING instead of read-after-write. */
describe('D1 round trips per request', () => {
  it('is one for every endpoint when it succeeds', async () => {
    const user = await signIn()
    await user.createTask()
    const task = await user.createTask()
    const { nextCursor } = await (await user.request('/tasks?limit=1')).json<{ nextCursor: string }>()
    const cases: [string, string, unknown?][] = [
      ['GET', '/tasks'],
      ['GET', `/tasks?limit=1&cursor=${nextCursor}`],
      ['GET', '/tasks?completed=false'],
      [
        'GET',
        `/tasks?sort=-dueAt&tag=a&tag=b&q=${encodeURIComponent('50%')}&priority=high&dueAfter=2026-01-01T00:00:00Z&overdue=true`,
      ],
      ['HEAD', '/tasks'],
      ['HEAD', `/tasks/${task.id}`],
      ['POST', '/tasks', { title: 'new' }],
      ['GET', `/tasks/${task.id}`],
      ['PATCH', `/tasks/${task.id}`, { completed: true }],
      ['PUT', `/tasks/${task.id}`, { title: 'replaced' }],
      ['DELETE', `/tasks/${task.id}`],
      ['DELETE', '/tasks?completed=true'],
    ]
    for (const [method, path, body] of cases) {
      const { db, counter } = countingDb(env.DB)
      const res = await request(path, { method, token: user.token, body, env: { DB: db } })
      expect(res.status, `${method} ${path}`).toBeLessThan(300)
      expect(counter.roundTrips, `${method} ${path}: ${counter.statements.join(' | ')}`).toBe(1)
    }
  })

  it('is one for a create with an Idempotency-Key, whether it creates, replays or is refused as reused', async () => {
    const user = await signIn()
    const headers = { 'Idempotency-Key': crypto.randomUUID() }
    for (const [title, status] of [
      ['keyed', 201],
      ['keyed', 201],
      ['other', 422],
    ] as const) {
      const { db, counter } = countingDb(env.DB)
      const res = await request('/tasks', {
        method: 'POST',
        token: user.token,
        body: { title },
        headers,
        env: { DB: db },
      })
      expect(res.status).toBe(status)
      expect(counter.roundTrips, title).toBe(1)
    }
  })

  it('is none for /me and /health, and none for a refused token', async () => {
    const user = await signIn()
    for (const [path, token] of [
      ['/me', user.token],
      ['/health', undefined],
      ['/tasks', 'bad'],
    ] as const) {
      const { db, counter } = countingDb(env.DB)
      await request(path, { ...(token && { token }), env: { DB: db } })
      expect(counter.roundTrips, path).toBe(0)
    }
  })

  it('is one for every write with a webhook too: the event rides in the write, its message goes to the queue', async () => {
    const user = await signIn()
    const task = await user.createTask({ completed: true })
    const sent: unknown[] = []
    const queue = { send: async (body: unknown) => void sent.push(body) } as unknown as Queue
    const hooked = {
      WEBHOOK_URL: 'https://hooks.example.com/tasks',
      WEBHOOK_SECRET: `whsec_${btoa('k'.repeat(32))}`,
      EVENTS_QUEUE: queue,
    }
    const cases: [string, string, unknown?][] = [
      ['POST', '/tasks', { title: 'new' }],
      ['PATCH', `/tasks/${task.id}`, { title: 'renamed' }],
      ['DELETE', '/tasks?completed=true'],
      ['GET', '/tasks/events'],
      ['GET', `/tasks/${task.id}/events`],
    ]
    for (const [method, path, body] of cases) {
      const { db, counter } = countingDb(env.DB)
      const res = await request(path, { method, token: user.token, body, env: { ...hooked, DB: db } })
      expect(res.status, `${method} ${path}`).toBeLessThan(300)
      expect(counter.roundTrips, `${method} ${path}: ${counter.statements.join(' | ')}`).toBe(1)
    }
    expect(sent).toHaveLength(3)
  })

  it('costs a second only to tell 403 from 404', async () => {
    const owner = await signIn()
    const other = await signIn()
    const task = await owner.createTask()
    const { db, counter } = countingDb(env.DB)
    const res = await request(`/tasks/${task.id}`, { token: other.token, env: { DB: db } })
    expect(res.status).toBe(403)
    expect(counter.roundTrips).toBe(2)
  })
})
