import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import { clientNetwork } from '../src/ratelimit'
import { chatOn, chatter, say, scriptModel, storedMessages } from './chat/model'
import { expectProblem, newUserId, nowSeconds, request, signIn, tokenFor } from './helpers'
import { call, mcpClient, mcpToken, rpc, taskCount } from './mcp/client'

const PERIOD_MS = 60_000

// awayFromWindowEdge may wait up to 5 s before a test's requests start, on top of the test's own time.
vi.setConfig({ testTimeout: 20_000 })

/**
 * The binding counts in windows aligned to the wall clock. A test that crossed a window edge would
 * see its count reset, so each one starts with at least 5 s of its window left.
 */
async function awayFromWindowEdge() {
  const left = PERIOD_MS - (Date.now() % PERIOD_MS)
  if (left < 5_000) await new Promise((resolve) => setTimeout(resolve, left + 50))
}

const randomIp = () => `203.0.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`
const randomIpv6Network = () =>
  `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}`

async function expectRateLimited(res: Response) {
  const problem = await expectProblem(res, 429)
  expect(problem.type).toBe('/problems/rate-limited')
  expect(res.headers.get('Retry-After')).toBe('60')
  expect(res.headers.get('WWW-Authenticate')).toBeNull()
}

afterEach(() => vi.restoreAllMocks())

/*
 * This file runs in the `ratelimit` project (vitest.config.ts): the bindings have the limits
 * wrangler.toml ships. The behaviour tests swap in a small test-only limiter (one object per limit,
 * so the app's per-env configuration cache sees one configuration).
 */
describe('per-user rate limit (USER_RATE_LIMITER)', () => {
  const five = { USER_RATE_LIMITER: env.TEST_FIVE_PER_MINUTE }

  it('answers the request past the limit with 429 problem+json and Retry-After, CORS intact', async () => {
    await awayFromWindowEdge()
    const user = await signIn()
    for (let i = 0; i < 5; i++) expect((await user.request('/tasks', { env: five })).status).toBe(200)
    const res = await user.request('/tasks', { env: five, headers: { Origin: 'http://localhost:3000' } })
    await expectRateLimited(res)
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('http://localhost:3000')
    expect(res.headers.get('Access-Control-Expose-Headers')).toContain('Retry-After')
  })

  it('counts every protected route, /me included, and does nothing for a refused request', async () => {
    await awayFromWindowEdge()
    const user = await signIn()
    for (let i = 0; i < 5; i++) expect((await user.request(i % 2 ? '/me' : '/tasks', { env: five })).status).toBe(200)
    await expectRateLimited(await user.request('/me', { env: five }))
    const res = await user.request('/tasks', { method: 'POST', body: { title: 'over the limit' }, env: five })
    await expectRateLimited(res)
    const { n } = (await env.DB.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1')
      .bind(user.id)
      .first<{ n: number }>())!
    expect(n).toBe(0)
  })

  it("limits each user by their own token: one user's burst never limits another", async () => {
    await awayFromWindowEdge()
    const noisy = await signIn()
    const quiet = await signIn()
    const ip = randomIp()
    for (let i = 0; i < 6; i++) await noisy.request('/tasks', { env: five, headers: { 'CF-Connecting-IP': ip } })
    await expectRateLimited(await noisy.request('/tasks', { env: five, headers: { 'CF-Connecting-IP': ip } }))
    // Same address (a shared NAT), different user.
    expect((await quiet.request('/tasks', { env: five, headers: { 'CF-Connecting-IP': ip } })).status).toBe(200)
  })

  it('takes the 601st request of a minute to reach a 429 with the limit wrangler.toml ships', {
    timeout: 60_000,
  }, async () => {
    await awayFromWindowEdge()
    const user = await signIn()
    let sent = 0
    let status = 0
    while (status !== 429 && sent < 1000) {
      status = (await user.request('/me')).status
      sent++
      if (status !== 429) expect(status).toBe(200)
    }
    expect(sent).toBe(601)
    await expectRateLimited(await user.request('/me'))
  })
})

describe('chat turns per user (CHAT_RATE_LIMITER)', () => {
  it('takes the 21st turn of a minute to reach a 429 with the limit wrangler.toml ships, storing nothing for it', {
    timeout: 60_000,
  }, async () => {
    await awayFromWindowEdge()
    const user = await chatter()
    scriptModel(Array.from({ length: 25 }, () => say('ok')))
    let sent = 0
    let status = 0
    while (status !== 429 && sent < 100) {
      status = (await user.chat({ message: `turn ${sent}` })).status
      sent++
      if (status !== 429) expect(status).toBe(200)
    }
    expect(sent).toBe(21)
    expect(await storedMessages(user.id)).toHaveLength(40)
    // Reading conversations is a request like any other, not a turn.
    expect((await user.api('/conversations')).status).toBe(200)
  })

  it('counts a turn against the per-user request limit too', async () => {
    await awayFromWindowEdge()
    const bindings = { ...chatOn, USER_RATE_LIMITER: env.TEST_FIVE_PER_MINUTE }
    const user = await signIn()
    scriptModel(Array.from({ length: 6 }, () => say('ok')))
    const turn = () => request('/chat', { method: 'POST', token: user.token, body: { message: 'hi' }, env: bindings })
    for (let i = 0; i < 5; i++) expect((await turn()).status).toBe(200)
    await expectRateLimited(await turn())
  })
})

describe('per-IP limit on refused requests (AUTH_FAILURE_RATE_LIMITER)', () => {
  const three = { AUTH_FAILURE_RATE_LIMITER: env.TEST_THREE_PER_MINUTE }

  it('takes the 61st refused request of a minute from one IP to reach a 429 with the limit wrangler.toml ships', {
    timeout: 60_000,
  }, async () => {
    await awayFromWindowEdge()
    const ip = randomIp()
    let sent = 0
    let status = 0
    while (status !== 429 && sent < 200) {
      status = (await request('/me', { token: 'guess', headers: { 'CF-Connecting-IP': ip } })).status
      sent++
      if (status !== 429) expect(status).toBe(401)
    }
    expect(sent).toBe(61)
    await expectRateLimited(await request('/tasks', { token: 'guess', headers: { 'CF-Connecting-IP': ip } }))
  })

  it('turns the refused request past the limit into a 429, per client IP', async () => {
    await awayFromWindowEdge()
    const ip = randomIp()
    for (let i = 0; i < 3; i++) {
      expect(
        (await request('/tasks', { token: 'guess', env: three, headers: { 'CF-Connecting-IP': ip } })).status,
      ).toBe(401)
    }
    await expectRateLimited(
      await request('/tasks', { token: 'guess', env: three, headers: { 'CF-Connecting-IP': ip } }),
    )
    await expectRateLimited(await request('/me', { env: three, headers: { 'CF-Connecting-IP': ip } }))
    // Another address is still told 401.
    expect(
      (await request('/tasks', { token: 'guess', env: three, headers: { 'CF-Connecting-IP': randomIp() } })).status,
    ).toBe(401)
  })

  it('never limits a valid token from a throttled address (users behind one NAT)', async () => {
    await awayFromWindowEdge()
    const ip = randomIp()
    for (let i = 0; i < 4; i++)
      await request('/tasks', { token: 'guess', env: three, headers: { 'CF-Connecting-IP': ip } })
    const user = await signIn()
    expect((await user.request('/tasks', { env: three, headers: { 'CF-Connecting-IP': ip } })).status).toBe(200)
  })

  it('does not count accepted requests against the address', async () => {
    await awayFromWindowEdge()
    const ip = randomIp()
    const user = await signIn()
    for (let i = 0; i < 10; i++) await user.request('/tasks', { env: three, headers: { 'CF-Connecting-IP': ip } })
    expect((await request('/tasks', { token: 'guess', env: three, headers: { 'CF-Connecting-IP': ip } })).status).toBe(
      401,
    )
  })

  it('counts a whole IPv6 /64 as one client', async () => {
    await awayFromWindowEdge()
    const network = randomIpv6Network()
    for (let i = 1; i <= 3; i++) {
      await request('/tasks', { token: 'guess', env: three, headers: { 'CF-Connecting-IP': `${network}::${i}` } })
    }
    const sameNetwork = `${network}:0:0:ffff:1234`
    await expectRateLimited(
      await request('/tasks', { token: 'guess', env: three, headers: { 'CF-Connecting-IP': sameNetwork } }),
    )
  })
})

describe('a validly signed token that has expired or is not valid yet', () => {
  const limits = { USER_RATE_LIMITER: env.TEST_FIVE_PER_MINUTE, AUTH_FAILURE_RATE_LIMITER: env.TEST_THREE_PER_MINUTE }
  const expiredFor = (sub: string) => tokenFor(sub, { exp: nowSeconds() - 3600 })

  it("is a 401 every time, even from an address its neighbours' bad tokens have throttled", async () => {
    await awayFromWindowEdge()
    const ip = randomIp()
    for (let i = 0; i < 3; i++)
      await request('/me', { token: 'guess', env: limits, headers: { 'CF-Connecting-IP': ip } })
    await expectRateLimited(await request('/me', { token: 'guess', env: limits, headers: { 'CF-Connecting-IP': ip } }))
    const expired = await expiredFor(newUserId())
    const notYet = await tokenFor(newUserId(), { nbf: nowSeconds() + 3600 })
    for (const token of [expired, expired, notYet, notYet]) {
      const res = await request('/me', { token, env: limits, headers: { 'CF-Connecting-IP': ip } })
      const problem = await expectProblem(res, 401)
      expect(problem.detail).toMatch(/expired|not valid yet/)
      expect(res.headers.get('WWW-Authenticate')).toMatch(/error="invalid_token"/)
    }
  })

  it("counts against its sub's limit, not the address's, and stays a 401 past it", async () => {
    await awayFromWindowEdge()
    const ip = randomIp()
    const sub = newUserId()
    const expired = await expiredFor(sub)
    for (let i = 0; i < 6; i++) {
      await expectProblem(
        await request('/me', { token: expired, env: limits, headers: { 'CF-Connecting-IP': ip } }),
        401,
      )
    }
    // The user's minute is spent by their own expired token...
    const fresh = await tokenFor(sub)
    await expectRateLimited(await request('/me', { token: fresh, env: limits, headers: { 'CF-Connecting-IP': ip } }))
    // ...and the address's is untouched: its refused-request limit is three.
    for (let i = 0; i < 3; i++) {
      const res = await request('/me', { token: 'guess', env: limits, headers: { 'CF-Connecting-IP': ip } })
      expect(res.status).toBe(401)
    }
    // Another user is not affected.
    expect((await request('/me', { token: await tokenFor(newUserId()), env: limits })).status).toBe(200)
  })

  it('still counts a token with a bad signature against the address, expired or not', async () => {
    await awayFromWindowEdge()
    const ip = randomIp()
    const forged = await tokenFor(
      newUserId(),
      { exp: nowSeconds() - 3600 },
      { secret: 'another-secret-that-is-also-long-enough-000' },
    )
    for (let i = 0; i < 3; i++) {
      expect((await request('/me', { token: forged, env: limits, headers: { 'CF-Connecting-IP': ip } })).status).toBe(
        401,
      )
    }
    await expectRateLimited(await request('/me', { token: forged, env: limits, headers: { 'CF-Connecting-IP': ip } }))
  })
})

describe('clientNetwork', () => {
  it.each([
    ['198.51.100.7', '198.51.100.7'],
    ['::ffff:198.51.100.7', '198.51.100.7'],
    ['2001:db8:aa:bb:1:2:3:4', '2001:db8:aa:bb::/64'],
    ['2001:DB8:00aa:0bb::1', '2001:db8:aa:bb::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, 'unknown'],
    ['', 'unknown'],
    ['not an address', 'unknown'],
    ['1::2::3', 'unknown'],
    ['x'.repeat(5000), 'unknown'],
  ])('keys %s as %s', (ip, key) => {
    expect(clientNetwork(ip)).toBe(key)
  })
})

describe('the limiter itself', () => {
  it('fails open, and logs, when the binding throws: it is a safety net, not a dependency', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const down = { limit: () => Promise.reject(new Error('limiter down')) }
    const broken = { USER_RATE_LIMITER: down, AUTH_FAILURE_RATE_LIMITER: down }
    const user = await signIn()
    expect((await user.request('/tasks', { env: broken })).status).toBe(200)
    expect(JSON.parse(String(warn.mock.calls[0]?.[0]))).toMatchObject({ message: 'rate limiter failed; not limiting' })
    warn.mockClear()
    expect((await request('/tasks', { token: 'guess', env: broken })).status).toBe(401)
    expect(JSON.parse(String(warn.mock.calls[0]?.[0]))).toMatchObject({ message: 'rate limiter failed; not limiting' })
  })

  it.each([
    ['a missing per-user binding', { USER_RATE_LIMITER: undefined }, /USER_RATE_LIMITER binding/],
    ['a missing per-IP binding', { AUTH_FAILURE_RATE_LIMITER: undefined }, /AUTH_FAILURE_RATE_LIMITER binding/],
    ['a quota of 0', { TASK_QUOTA: '0' }, /TASK_QUOTA/],
    ['a quota that is not a number', { TASK_QUOTA: 'lots' }, /TASK_QUOTA/],
    ['a negative quota', { TASK_QUOTA: '-1' }, /TASK_QUOTA/],
  ])('fails closed with 500, and logs why once, with %s', async (_what, overrides, reason) => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const bad = overrides as unknown as Partial<Env>
    const user = await signIn()
    for (const path of ['/tasks', '/me']) {
      const problem = await expectProblem(await user.request(path, { env: bad }), 500)
      expect(problem.type).toBe('/problems/server-misconfigured')
    }
    expect(error).toHaveBeenCalledTimes(1)
    expect(JSON.parse(String(error.mock.calls[0]?.[0]))).toMatchObject({
      message: 'server misconfigured',
      reason: expect.stringMatching(reason),
    })
  })
})

describe('rate limits for MCP clients and OAuth access tokens', () => {
  const five = { USER_RATE_LIMITER: env.TEST_FIVE_PER_MINUTE }

  it('counts each MCP request against the per-user limit, and answers the one past it 429', async () => {
    await awayFromWindowEdge()
    const id = newUserId()
    // Connecting is three requests: initialize, notifications/initialized, and the GET for an event stream.
    const client = await mcpClient(await mcpToken(id), { env: five })
    await call(client, 'add_task', { title: 'one' })
    await call(client, 'add_task', { title: 'two' })
    await expect(call(client, 'add_task', { title: 'three' })).rejects.toThrow(/429/)
    expect(await taskCount(id)).toBe(2)
  })

  it('counts a REST request refused for its scope against the per-user limit', async () => {
    await awayFromWindowEdge()
    const oauth = inject('oauth')
    const limited = {
      USER_RATE_LIMITER: env.TEST_THREE_PER_MINUTE,
      BETTER_AUTH_SECRET: '',
      BETTER_AUTH_URL: oauth.url,
      API_RESOURCE_URL: oauth.resources.api,
    }
    const post = () =>
      request('/tasks', { method: 'POST', token: oauth.bob.apiReadOnly, env: limited, body: { title: 'x' } })
    for (let i = 0; i < 3; i++) await expectProblem(await post(), 403)
    await expectRateLimited(await post())
  })

  it('counts an expired access token against its sub, not the address, at /mcp and on the REST API', async () => {
    await awayFromWindowEdge()
    const api = 'https://tasks.test/'
    const limits = {
      USER_RATE_LIMITER: env.TEST_FIVE_PER_MINUTE,
      AUTH_FAILURE_RATE_LIMITER: env.TEST_THREE_PER_MINUTE,
      API_RESOURCE_URL: api,
    }
    const ip = { 'CF-Connecting-IP': randomIp() }
    const sub = newUserId()
    const expired = { exp: nowSeconds() - 3600 }
    const atMcp = await mcpToken(sub, undefined, expired)
    const atApi = await tokenFor(
      sub,
      { aud: api, scope: 'tasks:read tasks:write', client_id: 'c', ...expired },
      { header: { alg: 'HS256', typ: 'at+jwt' } },
    )
    for (let i = 0; i < 3; i++) {
      const mcp = await rpc(atMcp, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, ip, limits)
      expect((await expectProblem(mcp, 401)).detail).toMatch(/expired/)
      const rest = await request('/tasks', { token: atApi, env: limits, headers: ip })
      expect((await expectProblem(rest, 401)).detail).toMatch(/expired/)
    }
    // Six refusals, past both limits: the user's minute is spent, the address's refused-request limit is not.
    await expectRateLimited(await request('/me', { token: await tokenFor(sub), env: limits }))
    expect((await request('/me', { token: 'guess', env: limits, headers: ip })).status).toBe(401)
  })
})
