/**
 * The authentication middleware as a whole (src/auth/middleware.ts): the spec's four cases, a 401
 * before any business logic, every route but the public ones behind it, and a misconfiguration
 * that fails closed.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { app } from '../../src/app'
import { countingDb, expectProblem, newUserId, request, signIn, tokenFor } from '../helpers'
import { expectUnauthorized } from './unauthorized'

describe("the spec's four", () => {
  it('rejects a request with no token', async () => {
    await expectUnauthorized(await request('/tasks'))
  })

  it('rejects an invalid token', async () => {
    await expectUnauthorized(await request('/tasks', { token: 'not-a-jwt' }), 'invalid_token')
  })

  it('allows a valid token', async () => {
    const user = await signIn()
    const res = await user.request('/tasks')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ items: [], nextCursor: null })
  })

  it('keeps user A out of user B tasks (covered in depth by isolation.test.ts)', async () => {
    const a = await signIn()
    const b = await signIn()
    const task = await b.createTask()
    expect((await a.request(`/tasks/${task.id}`)).status).toBe(403)
  })
})

describe('authentication before business logic', () => {
  it('answers 401 before reading the body, validating anything or touching D1', async () => {
    let pulled = false
    // highWaterMark 0: the stream is pulled only when someone reads it, not on construction.
    const body = new ReadableStream(
      {
        pull() {
          pulled = true
          throw new Error('the body of an unauthenticated request must not be read')
        },
      },
      { highWaterMark: 0 },
    )
    const { db, counter } = countingDb(env.DB)
    const res = await request('/tasks?user_id=someone&sort=nope', {
      method: 'POST',
      token: 'not-a-token',
      body,
      headers: {
        'Content-Type': 'text/plain',
        'Idempotency-Key': 'k'.repeat(300),
        'x-d1-bookmark': 'bad',
        'If-Match': 'bad',
      },
      env: { DB: db },
    })
    await expectUnauthorized(res, 'invalid_token')
    expect(pulled).toBe(false)
    expect(counter.roundTrips).toBe(0)
  })
})

describe('configuration fails closed', () => {
  const cases: [string, Partial<Env>, RegExp][] = [
    ['no secret and no JWKS', { BETTER_AUTH_SECRET: undefined as unknown as string }, /neither BETTER_AUTH_SECRET/],
    ['an empty secret and no JWKS', { BETTER_AUTH_SECRET: '' }, /neither BETTER_AUTH_SECRET/],
    [
      'a short secret beside a valid JWKS URL',
      { BETTER_AUTH_SECRET: 'short', BETTER_AUTH_URL: 'https://auth.example.com' },
      /shorter than 32/,
    ],
    ['a BETTER_AUTH_URL that is not a URL', { BETTER_AUTH_URL: 'auth.example.com' }, /BETTER_AUTH_URL must be/],
    ['a plain-http BETTER_AUTH_URL off this machine', { BETTER_AUTH_URL: 'http://auth.example.com' }, /https/],
    [
      'a plain-http JWKS_URL off this machine',
      { BETTER_AUTH_URL: 'https://auth.example.com', JWKS_URL: 'http://keys.example.com/jwks' },
      /JWKS_URL must be/,
    ],
    [
      'a JWKS_URL with no issuer or audience to check',
      { JWKS_URL: 'https://auth.example.com/api/auth/jwks' },
      /JWT_ISSUER and JWT_AUDIENCE/,
    ],
    ['a secret shorter than 32 characters', { BETTER_AUTH_SECRET: 'short-secret' }, /shorter than 32/],
    ['an invalid clock skew', { JWT_CLOCK_SKEW_SECONDS: 'lots' }, /JWT_CLOCK_SKEW_SECONDS/],
    // The resources tell access tokens from session tokens, so the REST API cannot run without them.
    ['an MCP_RESOURCE_URL that is not a URL', { MCP_RESOURCE_URL: 'tasks.test/mcp' }, /MCP_RESOURCE_URL must be/],
    [
      "an API_RESOURCE_URL that is the session tokens' audience",
      { JWT_AUDIENCE: 'https://tasks.test/', API_RESOURCE_URL: 'https://tasks.test/' },
      /API_RESOURCE_URL must differ/,
    ],
    ['an excessive clock skew', { JWT_CLOCK_SKEW_SECONDS: '86400' }, /JWT_CLOCK_SKEW_SECONDS/],
  ]
  for (const [what, override, reason] of cases) {
    it(`answers 500 "server misconfigured", accepts nothing and logs why once, with ${what}`, async () => {
      const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
      const secret = override.BETTER_AUTH_SECRET || env.BETTER_AUTH_SECRET
      const token = await tokenFor(newUserId(), {}, { secret })
      for (const path of ['/me', '/tasks']) {
        const problem = await expectProblem(await request(path, { token, env: override }), 500)
        expect(problem).toMatchObject({ type: '/problems/server-misconfigured', title: 'Server misconfigured' })
        expect(JSON.stringify(problem)).not.toMatch(reason)
      }
      expect((await request('/health', { env: override })).status).toBe(200)
      expect(logged).toHaveBeenCalledTimes(1)
      expect(JSON.parse(String(logged.mock.calls[0]?.[0]))).toMatchObject({
        message: 'server misconfigured',
        reason: expect.stringMatching(reason),
      })
      logged.mockRestore()
    })
  }
})

describe('protection by design', () => {
  // Public on purpose: the health check, the API's description, the VAPID public key and the MCP
  // resource's OAuth metadata (RFC 9728), which hold no user data (the /docs page is static assets,
  // never this worker).
  const PUBLIC = new Set([
    '/health',
    '/openapi.json',
    '/push/public-key',
    '/.well-known/oauth-protected-resource',
    '/.well-known/oauth-protected-resource/mcp',
  ])

  // One request per route and method: several hundred, more than the default 5 s allow on a busy machine.
  it('requires a token on every route except /health and the documentation', { timeout: 30_000 }, async () => {
    const routes = app.routes.filter((r) => !PUBLIC.has(r.path) && r.path !== '/*')
    expect(routes.length).toBeGreaterThan(5)
    for (const { method, path } of routes) {
      const concrete = path.replace(':id', crypto.randomUUID()).replace('/*', '')
      const methods = method === 'ALL' ? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] : [method]
      for (const m of methods) {
        const res = await request(concrete, { method: m, ...(m !== 'GET' && { body: { title: 'x' } }) })
        expect(res.status, `${m} ${concrete}`).toBe(401)
      }
    }
  })
})
