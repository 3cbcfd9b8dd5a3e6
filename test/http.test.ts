import { env as workerEnv } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { getConfig } from '../src/config'
import { DatabaseError, d1 } from '../src/db'
import { expectProblem, failingDb, request, signIn } from './helpers'

const ALLOWED = 'http://localhost:3000'

function preflight(origin: string, method = 'POST', headers = 'authorization, content-type') {
  return request('/tasks', {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers },
  })
}

describe('CORS', () => {
  it('answers a preflight from a listed origin without a token', async () => {
    const res = await preflight(ALLOWED, 'PATCH', 'authorization, content-type, if-match, idempotency-key')
    expect(res.status).toBe(204)
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED)
    expect(res.headers.get('Access-Control-Allow-Methods')?.split(',')).toEqual(
      expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    )
    const allowed = res.headers.get('Access-Control-Allow-Headers')?.toLowerCase().split(',') ?? []
    expect(allowed).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'if-match', 'if-none-match', 'idempotency-key']),
    )
    expect(res.headers.get('Access-Control-Max-Age')).toBe('600')
    expect(res.headers.get('Vary')).toMatch(/Origin/)
  })

  it('grants every configured origin, exactly', async () => {
    expect((await preflight('https://app.example.com')).headers.get('Access-Control-Allow-Origin')).toBe(
      'https://app.example.com',
    )
    for (const origin of [
      'https://evil.example.com',
      'http://localhost:3001',
      'https://app.example.com.evil.com',
      'null',
      'http://LOCALHOST:3000',
    ]) {
      const res = await preflight(origin)
      expect(res.headers.get('Access-Control-Allow-Origin'), origin).toBeNull()
    }
  })

  it('exposes ETag, Location, Retry-After and X-Request-Id on actual responses', async () => {
    const user = await signIn()
    const res = await user.request('/tasks', { method: 'POST', body: { title: 'x' }, headers: { Origin: ALLOWED } })
    expect(res.status).toBe(201)
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED)
    expect(res.headers.get('Access-Control-Expose-Headers')?.split(',')).toEqual(
      expect.arrayContaining(['ETag', 'Location', 'Retry-After', 'X-Request-Id']),
    )
    expect(res.headers.get('Vary')).toMatch(/Origin/)
  })

  it('lets a listed origin read a 401, and gives an unlisted origin nothing', async () => {
    const listed = await request('/tasks', { headers: { Origin: ALLOWED } })
    expect(listed.status).toBe(401)
    expect(listed.headers.get('Access-Control-Allow-Origin')).toBe(ALLOWED)
    const unlisted = await request('/tasks', { headers: { Origin: 'https://evil.example.com' } })
    expect(unlisted.headers.get('Access-Control-Allow-Origin')).toBeNull()
  })

  it('grants nothing when CORS_ORIGINS is empty, and any origin when it is "*"', async () => {
    const none = await request('/health', { headers: { Origin: ALLOWED }, env: { CORS_ORIGINS: '' } })
    expect(none.headers.get('Access-Control-Allow-Origin')).toBeNull()
    const any = await request('/health', {
      headers: { Origin: 'https://anywhere.example' },
      env: { CORS_ORIGINS: '*' },
    })
    expect(any.headers.get('Access-Control-Allow-Origin')).toBe('*')
  })

  it('ignores CORS_ORIGINS entries that are not origins, warning once per entry', async () => {
    const env = { CORS_ORIGINS: 'localhost:3000, http://localhost:3000/app, https://ok.example' }
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const ok = await request('/health', { headers: { Origin: 'https://ok.example' }, env })
    expect(ok.headers.get('Access-Control-Allow-Origin')).toBe('https://ok.example')
    const warned = warn.mock.calls.map(([line]) => JSON.parse(String(line)).entry)
    expect(warned).toEqual(['localhost:3000', 'http://localhost:3000/app'])
    for (const origin of ['localhost:3000', 'http://localhost:3000']) {
      const res = await request('/health', { headers: { Origin: origin }, env })
      expect(res.headers.get('Access-Control-Allow-Origin'), origin).toBeNull()
    }
    warn.mockRestore()
  })

  it('parses configuration once per env object', () => {
    expect(getConfig(workerEnv)).toBe(getConfig(workerEnv))
  })
})

describe('headers on every response', () => {
  it('sets X-Request-Id, nosniff and no-store on successes, errors (503 included) and preflights', async () => {
    const user = await signIn()
    // The 503 below logs the failure; its log line is asserted in 'database failures'.
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const responses = [
      await request('/health'),
      await user.request('/tasks'),
      await user.request('/me'),
      await request('/tasks'),
      await user.request('/nope'),
      await user.request('/tasks', { method: 'POST', body: '{' }),
      await user.request('/tasks', { env: { DB: failingDb() } }),
      await preflight(ALLOWED),
    ]
    error.mockRestore()
    for (const res of responses) {
      expect(res.headers.get('X-Request-Id')).toMatch(/^[\w-]{8,}$/)
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
      expect(res.headers.get('Cache-Control')).toBe('no-store')
    }
    expect(new Set(responses.map((r) => r.headers.get('X-Request-Id'))).size).toBe(responses.length)
  })

  it('keeps a well-formed incoming X-Request-Id and replaces a hostile one', async () => {
    const kept = await request('/health', { headers: { 'X-Request-Id': 'trace-abc-123' } })
    expect(kept.headers.get('X-Request-Id')).toBe('trace-abc-123')
    const replaced = await request('/health', { headers: { 'X-Request-Id': '<script>' } })
    expect(replaced.headers.get('X-Request-Id')).not.toBe('<script>')
  })
})

describe('database failures', () => {
  it('turn a D1 round trip that never answers into a DatabaseError at the deadline', async () => {
    const started = Date.now()
    const hung = d1(() => new Promise(() => {}), 50)
    await expect(hung).rejects.toBeInstanceOf(DatabaseError)
    await expect(hung).rejects.toMatchObject({ cause: { message: 'D1 did not answer within 50 ms' } })
    expect(Date.now() - started).toBeGreaterThanOrEqual(50)
  })

  it('answer 503, not 500, when D1 reports its own timeout', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const user = await signIn()
    const timedOut = failingDb('D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.')
    const res = await user.request('/tasks', { env: { DB: timedOut } })
    expect((await expectProblem(res, 503)).type).toBe('/problems/service-unavailable')
    vi.restoreAllMocks()
  })

  it('answer 503 problem+json with Retry-After, logged with the request id, never a stack', async () => {
    const user = await signIn()
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const id = crypto.randomUUID()
    for (const [method, path, body] of [
      ['GET', '/tasks'],
      ['POST', '/tasks', { title: 'x' }],
      ['GET', `/tasks/${id}`],
      ['PATCH', `/tasks/${id}`, { title: 'x' }],
      ['DELETE', `/tasks/${id}`],
    ] as const) {
      const res = await user.request(path, { method, ...(body && { body }), env: { DB: failingDb() } })
      const problem = await expectProblem(res, 503)
      expect(problem.type).toBe('/problems/service-unavailable')
      expect(res.headers.get('Retry-After')).toBe('5')
      expect(JSON.stringify(problem)).not.toMatch(/D1_ERROR|Network|at .*\.ts/)
      const logged = JSON.parse(String(error.mock.lastCall?.[0]))
      expect(logged).toMatchObject({ level: 'error', message: 'database failure', requestId: problem.requestId })
      expect(JSON.stringify(logged)).not.toContain(user.token)
    }
    error.mockRestore()
  })
})
