import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { countingDb, failingDb, request, signIn } from './helpers'

afterEach(() => {
  vi.restoreAllMocks()
})

interface RequestLine {
  level: string
  message: string
  requestId: string
  method: string
  route: string
  status: number
  durationMs: number
  authMs: number
  dbMs: number
  user?: string
}

/** Runs `send` and returns the request log lines it wrote (other console output passes through). */
async function logged(send: () => Promise<Response>): Promise<{ res: Response; lines: RequestLine[]; raw: string[] }> {
  const raw: string[] = []
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    raw.push(String(line))
  })
  vi.spyOn(console, 'error').mockImplementation(() => {})
  const res = await send()
  vi.restoreAllMocks()
  const lines = raw.map((l) => JSON.parse(l) as RequestLine).filter((l) => l.message === 'request')
  return { res, lines, raw }
}

describe('the request log', () => {
  it('writes one JSON line per request with id, method, route pattern, status and timings', async () => {
    const user = await signIn()
    const task = await user.createTask()
    const { res, lines } = await logged(() => user.request(`/tasks/${task.id}`, { env: {} }))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toEqual({
      level: 'info',
      message: 'request',
      requestId: res.headers.get('X-Request-Id'),
      method: 'GET',
      route: '/tasks/:id',
      status: 200,
      durationMs: expect.any(Number),
      authMs: expect.any(Number),
      dbMs: expect.any(Number),
      user: expect.stringMatching(/^[0-9a-f]{16}$/),
    })
  })

  it('identifies the user by a stable hash, never by the id or the token', async () => {
    const user = await signIn()
    const first = await logged(() => user.request('/me', { env: {} }))
    const second = await logged(() => user.request('/tasks', { env: {} }))
    expect(first.lines[0]?.user).toBe(second.lines[0]?.user)
    for (const line of [...first.raw, ...second.raw]) {
      expect(line).not.toContain(user.id)
      expect(line).not.toContain(user.token)
      expect(line).not.toContain(user.token.split('.')[2])
    }
    const other = await signIn()
    expect((await logged(() => other.request('/me', { env: {} }))).lines[0]?.user).not.toBe(first.lines[0]?.user)
  })

  it('logs refused requests without a user, and server failures at level error', async () => {
    const denied = await logged(() => request('/tasks', { token: 'not-a-token', env: {} }))
    expect(denied.lines[0]).toMatchObject({ level: 'info', status: 401 })
    expect(denied.lines[0]).not.toHaveProperty('user')
    expect(denied.raw.join('\n')).not.toContain('not-a-token')

    const user = await signIn()
    const failed = await logged(() => user.request('/tasks', { env: { DB: failingDb() } }))
    expect(failed.lines[0]).toMatchObject({ level: 'error', status: 503, route: '/tasks' })
  })
})

describe('the request log, sampled', () => {
  const unsampled = { REQUEST_LOG_SAMPLE_RATE: '0' }

  it('writes no line for a success outside the sample, and still sets Server-Timing', async () => {
    const user = await signIn()
    const task = await user.createTask()
    const { res, lines } = await logged(() => user.request(`/tasks/${task.id}`, { env: unsampled }))
    expect(res.status).toBe(200)
    expect(lines).toEqual([])
    expect(res.headers.get('Server-Timing')).toMatch(/^auth;dur=.*, db;dur=.*, total;dur=/)
  })

  it('writes the line for every refused or failed request, whatever the sample rate', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const user = await signIn()
    const denied = await logged(() => request('/tasks', { token: 'not-a-token', env: unsampled }))
    expect(denied.lines).toEqual([expect.objectContaining({ level: 'info', status: 401 })])
    const missing = await logged(() => user.request('/nope', { env: unsampled }))
    expect(missing.lines).toEqual([expect.objectContaining({ status: 404 })])
    const failed = await logged(() => user.request('/tasks', { env: { ...unsampled, DB: failingDb() } }))
    expect(failed.lines).toEqual([expect.objectContaining({ level: 'error', status: 503, user: expect.any(String) })])
  })

  it('logs every request when the sample rate is not a share from 0 to 1', async () => {
    for (const rate of ['2', '-0.5', 'half', '0x1']) {
      const warned: string[] = []
      // logged() restores every mock once the request is answered.
      vi.spyOn(console, 'warn').mockImplementation((line: unknown) => {
        warned.push(String(line))
      })
      const { lines } = await logged(() => request('/health', { env: { REQUEST_LOG_SAMPLE_RATE: rate } }))
      expect(lines, rate).toHaveLength(1)
      expect(
        warned.filter((w) => w.includes('REQUEST_LOG_SAMPLE_RATE')),
        rate,
      ).toHaveLength(1)
    }
  })
})

describe('Server-Timing', () => {
  const SERVER_TIMING = /^auth;dur=(\d+(\.\d)?), db;dur=(\d+(\.\d)?), total;dur=(\d+(\.\d)?)$/

  it('reports auth, db and total on successes, and db time when D1 was used', async () => {
    const user = await signIn()
    // Local D1 can answer within workerd's clock tick (it moves only across I/O): 5 ms later, it cannot.
    const { db: slow, counter } = countingDb(env.DB, { delayMs: 5 })
    const res = await user.request('/tasks', { method: 'POST', body: { title: 'timed' }, env: { DB: slow } })
    expect(res.status).toBe(201)
    const match = SERVER_TIMING.exec(res.headers.get('Server-Timing') ?? '')
    expect(match).not.toBeNull()
    const [, auth, , db, , total] = match!.map(Number) as number[]
    expect(db).toBeGreaterThanOrEqual(5 * counter.roundTrips)
    expect(total!).toBeGreaterThanOrEqual(db!)
    expect(total!).toBeGreaterThanOrEqual(auth!)
  })

  it('is on errors and on requests that never reach D1', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const user = await signIn()
    for (const res of [
      await request('/health'),
      await request('/tasks'),
      await user.request('/nope'),
      await user.request('/tasks', { env: { DB: failingDb() } }),
    ]) {
      expect(res.headers.get('Server-Timing')).toMatch(SERVER_TIMING)
    }
    expect((await request('/health')).headers.get('Server-Timing')).toMatch(/db;dur=0,/)
  })

  it('is readable by a listed origin through the Resource Timing API, and only by it', async () => {
    const listed = await request('/health', { headers: { Origin: 'http://localhost:3000' } })
    expect(listed.headers.get('Timing-Allow-Origin')).toBe('http://localhost:3000')
    const unlisted = await request('/health', { headers: { Origin: 'https://evil.example.com' } })
    expect(unlisted.headers.get('Timing-Allow-Origin')).toBeNull()
  })
})
