/**
 * GET /tasks/live: every refusal comes before the upgrade, as a problem, and opens no socket; and
 * /tasks/live is its own route, never taken for a task id.
 */
import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { userObject } from '../../src/live/object'
import { API_RESOURCE, apiAccessToken, expectProblem, nowSeconds, request, signIn, tokenFor } from '../helpers'
import { connected, listen, ticketFor, upgrade } from './socket'

/** How many sockets `userId`'s object holds open. */
const openSockets = (userId: string) =>
  runInDurableObject(userObject(env, userId), (_, state) => state.getWebSockets().length)

describe('GET /tasks/live refuses before the upgrade', () => {
  it('without a ticket or a token: 401 with a bearer challenge', async () => {
    const res = await upgrade('/tasks/live')
    await expectProblem(res, 401)
    expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm="tasks"/)
    expect(res.webSocket).toBeNull()
  })

  it('with a bad, expired or foreign-signed token: 401, and no socket', async () => {
    const user = await signIn()
    const tokens = [
      'not-a-token',
      await tokenFor(user.id, { exp: nowSeconds() - 3600 }),
      await tokenFor(user.id, {}, { secret: 'another-secret-that-is-long-enough-0123456789' }),
    ]
    for (const token of tokens)
      await expectProblem(await upgrade('/tasks/live', { Authorization: `Bearer ${token}` }), 401)
    expect(await openSockets(user.id)).toBe(0)
  })

  it('from a page whose origin CORS_ORIGINS does not list: 403, and the ticket is not used up', async () => {
    const user = await signIn()
    const { ticket } = await ticketFor(user)
    for (const origin of ['https://evil.example', 'null', 'http://localhost:3001', 'https://app.example.com.evil']) {
      const problem = await expectProblem(await upgrade(`/tasks/live?ticket=${ticket}`, { Origin: origin }), 403)
      expect(problem.detail).toMatch(/CORS_ORIGINS/)
    }
    // A token is refused from there too.
    await expectProblem(
      await upgrade('/tasks/live', { Origin: 'https://evil.example', Authorization: `Bearer ${user.token}` }),
      403,
    )
    const live = listen(await upgrade(`/tasks/live?ticket=${ticket}`, { Origin: 'https://app.example.com' }))
    expect(await live.next()).toMatchObject({ type: 'ready' })
  })

  it('takes any origin when CORS_ORIGINS is "*"', async () => {
    const user = await signIn()
    const { ticket } = await ticketFor(user)
    const res = await upgrade(
      `/tasks/live?ticket=${ticket}`,
      { Origin: 'https://anywhere.example' },
      { CORS_ORIGINS: '*' },
    )
    listen(res)
  })

  it('without Upgrade: websocket: 426 naming the upgrade, and the ticket is not used up', async () => {
    const user = await signIn()
    const { ticket } = await ticketFor(user)
    for (const headers of [{}, { Upgrade: 'h2c' }]) {
      const res = await request(`/tasks/live?ticket=${ticket}`, { headers })
      await expectProblem(res, 426)
      expect(res.headers.get('Upgrade')).toBe('websocket')
    }
    listen(await upgrade(`/tasks/live?ticket=${ticket}`))
  })

  it('with a query parameter it does not know: 400, and the ticket is not used up', async () => {
    const user = await signIn()
    const { ticket } = await ticketFor(user)
    const problem = await expectProblem(await upgrade(`/tasks/live?ticket=${ticket}&user=someone`), 400)
    expect(problem.errors).toEqual([{ parameter: 'user', detail: 'is not a known parameter' }])
    await expectProblem(await upgrade(`/tasks/live?ticket=${ticket}&ticket=${ticket}`), 400)
    listen(await upgrade(`/tasks/live?ticket=${ticket}`))
  })

  it('past LIVE_SOCKETS_PER_USER (20) open sockets of the user: 429 with Retry-After; one closed, one more opens', async () => {
    const [user, other] = [await signIn(), await signIn()]
    const open = []
    for (let i = 0; i < 20; i++)
      open.push(listen(await upgrade('/tasks/live', { Authorization: `Bearer ${user.token}` })))
    const res = await upgrade('/tasks/live', { Authorization: `Bearer ${user.token}` })
    const problem = await expectProblem(res, 429)
    expect(problem.type).toBe('/problems/live-connection-limit')
    expect(res.headers.get('Retry-After')).toMatch(/^\d+$/)
    // With a ticket too; and the refusal leaves the ticket unused.
    const { ticket } = await ticketFor(user)
    await expectProblem(await upgrade(`/tasks/live?ticket=${ticket}`), 429)
    expect(await openSockets(user.id)).toBe(20)
    // Another user's sockets are counted apart.
    listen(await upgrade('/tasks/live', { Authorization: `Bearer ${other.token}` }))
    open[0]!.socket.close(1000, 'done')
    await expect.poll(() => openSockets(user.id)).toBe(19)
    listen(await upgrade(`/tasks/live?ticket=${ticket}`))
  })

  it('honours a smaller LIVE_SOCKETS_PER_USER', async () => {
    const user = await signIn()
    const limit = { LIVE_SOCKETS_PER_USER: '1' }
    listen(await upgrade('/tasks/live', { Authorization: `Bearer ${user.token}` }, limit))
    await expectProblem(await upgrade('/tasks/live', { Authorization: `Bearer ${user.token}` }, limit), 429)
  })

  it('fails closed (500) on an invalid LIVE_SOCKETS_PER_USER', async () => {
    const user = await signIn()
    for (const value of ['0', '-1', 'many', '1001']) {
      const res = await upgrade(
        '/tasks/live',
        { Authorization: `Bearer ${user.token}` },
        { LIVE_SOCKETS_PER_USER: value },
      )
      await expectProblem(res, 500)
    }
  })

  it('for an OAuth access token without tasks:read: 403; with it: 101', async () => {
    const api = API_RESOURCE
    const user = await signIn()
    const accessToken = (scope: string) => apiAccessToken(user.id, scope)
    const writeOnly = await upgrade('/tasks/live', { Authorization: `Bearer ${await accessToken('tasks:write')}` }, api)
    await expectProblem(writeOnly, 403)
    listen(await upgrade('/tasks/live', { Authorization: `Bearer ${await accessToken('tasks:read')}` }, api))
  })

  it('opens a socket with a session token in Authorization, for clients that are not browsers', async () => {
    const user = await signIn()
    const res = await upgrade('/tasks/live', { Authorization: `Bearer ${user.token}`, Origin: 'http://localhost:3000' })
    // The headers every response carries, the 101 included.
    expect(res.headers.get('X-Request-Id')).toMatch(/\S/)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('http://localhost:3000')
    const live = listen(res)
    expect(await live.next()).toMatchObject({ type: 'ready', token: expect.any(String) })
    expect(await openSockets(user.id)).toBe(1)
  })
})

describe('/tasks/live among the task routes', () => {
  it('is its own route: never a task id, and 405 for other methods', async () => {
    const user = await signIn()
    // Without Upgrade the live route answers (426), not the task routes' GET /tasks/:id (404).
    await expectProblem(await user.request('/tasks/live'), 426)
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await user.request('/tasks/live', { method })
      await expectProblem(res, 405)
      expect(res.headers.get('Allow')).toBe('GET, HEAD')
    }
  })

  it('leaves GET, PATCH and DELETE /tasks/<uuid> to the task routes', async () => {
    const user = await signIn()
    const task = await user.createTask({ title: 'still here' })
    expect(await (await user.request(`/tasks/${task.id}`)).json()).toMatchObject({ title: 'still here' })
    expect((await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { completed: true } })).status).toBe(200)
    expect((await user.request(`/tasks/${task.id}`, { method: 'DELETE' })).status).toBe(204)
    await expectProblem(await user.request('/tasks/changes/live'), 404)
  })

  it("finds the Durable Object class wrangler.toml declares: one object per user, named by the user's id", async () => {
    const user = await signIn()
    await connected(user)
    const ids = (await listDurableObjectIds(env.USER)).map(String)
    expect(ids).toContain(env.USER.idFromName(user.id).toString())
  })
})
