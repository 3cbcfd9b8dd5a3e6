import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { expect } from 'vitest'
import { app } from '../src/app'
import type { Task } from '../src/tasks/model'
import type { ChangesPage } from '../src/tasks/sync'

export const BASE = 'https://tasks.test'

const encoder = new TextEncoder()

export function base64url(data: string | Uint8Array | ArrayBuffer): string {
  const bytes = typeof data === 'string' ? encoder.encode(data) : new Uint8Array(data)
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
}

export const fromBase64url = (part: string): Uint8Array =>
  Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))

/** The JSON in part `index` (0: header, 1: payload) of a compact JWS. */
export const decodeJwtPart = (token: string, index: 0 | 1) =>
  JSON.parse(new TextDecoder().decode(fromBase64url(token.split('.')[index] ?? ''))) as Record<string, unknown>

const HASHES = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' } as const

export interface SignOptions {
  secret?: string
  alg?: keyof typeof HASHES
  /** Replaces the whole protected header, so tests can forge any `alg`, `typ` or `crit`; even `null`. */
  header?: Record<string, unknown> | null
}

/** Signs anything, including payloads and headers a real issuer never would. */
export async function signJwt(payload: unknown, options: SignOptions = {}): Promise<string> {
  const alg = options.alg ?? 'HS256'
  // `'header' in`, not `??`: a forged null header must be sent as null, not replaced by a good one.
  const header = 'header' in options ? options.header : { alg, typ: 'JWT' }
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(options.secret ?? env.BETTER_AUTH_SECRET),
    { name: 'HMAC', hash: HASHES[alg] },
    false,
    ['sign'],
  )
  return `${input}.${base64url(await crypto.subtle.sign('HMAC', key, encoder.encode(input)))}`
}

export const nowSeconds = () => Math.floor(Date.now() / 1000)

/** A token as Better Auth would issue it for `sub`, with `claims` merged over the defaults. */
export const tokenFor = (sub: string, claims: Record<string, unknown> = {}, options?: SignOptions) =>
  signJwt({ sub, email: `${sub}@example.com`, iat: nowSeconds(), exp: nowSeconds() + 900, ...claims }, options)

/** The bindings under which the REST API takes OAuth access tokens: pass them as a request's `env`. */
export const API_RESOURCE = { API_RESOURCE_URL: 'https://tasks.test/' }

/** An OAuth access token (`typ: at+jwt`) of `sub` for the REST API (API_RESOURCE), with `scope`, for `clientId`. */
export const apiAccessToken = (sub: string, scope: string, clientId = 'app') =>
  signJwt(
    { sub, aud: API_RESOURCE.API_RESOURCE_URL, scope, client_id: clientId, iat: nowSeconds(), exp: nowSeconds() + 900 },
    { header: { alg: 'HS256', typ: 'at+jwt' } },
  )

export const newUserId = () => `user-${crypto.randomUUID()}`

export interface RequestOptions {
  method?: string
  token?: string
  /** Sent as JSON with Content-Type application/json; a string or stream is sent as it is. */
  body?: unknown
  headers?: Record<string, string>
  /** Runs the app with these bindings replaced (configuration or a wrapped D1). */
  env?: Partial<Env>
}

const envs = new WeakMap<Partial<Env>, Env>()

/** One env object per overrides object, as Workers keeps one env per isolate (config is cached by it). */
function envWith(overrides: Partial<Env>): Env {
  let merged = envs.get(overrides)
  if (!merged) {
    merged = { ...env, ...overrides }
    envs.set(overrides, merged)
  }
  return merged
}

export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers)
  if (options.token !== undefined) headers.set('Authorization', `Bearer ${options.token}`)
  let body: BodyInit | undefined
  if (options.body !== undefined) {
    const raw = typeof options.body === 'string' || options.body instanceof ReadableStream
    body = raw ? (options.body as BodyInit) : JSON.stringify(options.body)
    if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json')
  }
  const init: RequestInit = { method: options.method ?? 'GET', headers, ...(body !== undefined && { body }) }
  return fetchWorker(`${BASE}${path}`, init, options.env)
}

/** A fetch into the worker (for clients that take a fetch function), with bindings replaced by `env`. */
export async function fetchWorker(url: string | URL, init?: RequestInit, env?: Partial<Env>): Promise<Response> {
  if (!env) return exports.default.fetch(url, init)
  const ctx = createExecutionContext()
  const response = await app.fetch(new Request(url, init), envWith(env), ctx)
  await waitOnExecutionContext(ctx)
  return response
}

/** A signed-in user: their id, a valid token, and requests made with it. */
export async function signIn(claims: Record<string, unknown> = {}) {
  const id = newUserId()
  const token = await tokenFor(id, claims)
  return {
    id,
    token,
    request: (path: string, options: Omit<RequestOptions, 'token'> = {}) => request(path, { ...options, token }),
    async createTask(body: Record<string, unknown> = {}): Promise<Task> {
      const res = await request('/tasks', { method: 'POST', token, body: { title: 'A task', ...body } })
      expect(res.status).toBe(201)
      return res.json<Task>()
    },
  }
}
export type SignedIn = Awaited<ReturnType<typeof signIn>>

/** One page of `who`'s sync feed (GET /tasks/changes), which must succeed; `env` replaces bindings. */
export async function feed(who: SignedIn, since?: string, limit?: number, env?: Partial<Env>): Promise<ChangesPage> {
  const query = new URLSearchParams({
    ...(since !== undefined && { since }),
    ...(limit !== undefined && { limit: String(limit) }),
  })
  const res = await who.request(`/tasks/changes?${query}`, env ? { env } : {})
  expect(res.status, await res.clone().text()).toBe(200)
  return res.json<ChangesPage>()
}

export interface StoredTask {
  id: string
  user_id: string
  title: string
  description: string
  completed: number
  priority: string
  due_at: string | null
  tags: string
  created_at: string
  updated_at: string
  completed_at: string | null
  version: number
  seq: number
  number: number
}

/** The row as D1 holds it, read directly, to assert what a request really stored or changed. */
export const storedTask = (id: string) =>
  env.DB.prepare('SELECT * FROM tasks WHERE id = ?1').bind(id).first<StoredTask>()

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  errors?: ({ pointer: string; detail: string } | { parameter: string; detail: string })[]
  requestId: string
}

/** Asserts an RFC 9457 problem response with this status, and returns its body. */
export async function expectProblem(res: Response, status: number): Promise<Problem> {
  expect(res.status).toBe(status)
  expect(res.headers.get('Content-Type')).toBe('application/problem+json')
  const problem = await res.json<Problem>()
  expect(problem).toMatchObject({ status, type: expect.stringMatching(/^\/problems\/[a-z-]+$/) })
  expect(problem.title).toBeTruthy()
  expect(problem.detail).toBeTruthy()
  expect(problem.requestId).toBe(res.headers.get('X-Request-Id'))
  return problem
}

/** SQLite's EXPLAIN QUERY PLAN for a statement, one step a line. */
export async function queryPlan(sql: string, ...params: unknown[]): Promise<string> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>()
  return results.map((r) => r.detail).join('\n')
}

/** The plan's full scans of a stored table: any SCAN but of a subquery, a CTE, a constant row or json_each. */
export function tableScans(plan: string): string[] {
  const lines = plan.split('\n')
  const computed = new Set(lines.flatMap((line) => /(?:CO-ROUTINE|MATERIALIZE) (\S+)/.exec(line)?.[1] ?? []))
  return lines.filter((line) => {
    const scanned = /^SCAN (\S+)/.exec(line)?.[1]
    return scanned !== undefined && !computed.has(scanned) && scanned !== 'CONSTANT' && !line.includes('VIRTUAL TABLE')
  })
}

/** Names of the fields or parameters a 400 problem lists. */
export const invalidNames = (problem: Problem) =>
  (problem.errors ?? []).map((e) => ('pointer' in e ? e.pointer : e.parameter))

/**
 * Wraps D1 so a test can count round trips (each first/all/run/raw, or one batch()) and the rows
 * D1 reports reading and writing (`meta.rows_read`, `meta.rows_written`). first() returns no meta, so the wrapper runs it as all()
 * and hands back the first row: the same statement, the same single round trip. Every statement
 * run is recorded, those of a batch() too, so a budget test cannot miss them. `delayMs` answers
 * each round trip that much later: a duration workerd's clock, which moves only across I/O, sees.
 */
export function countingDb(db: D1Database, { delayMs = 0 } = {}) {
  const later = async <T>(result: T): Promise<T> => {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
    return result
  }
  // statements[i] ran with bindings[i]: enough to EXPLAIN exactly what a request ran.
  const counter = {
    roundTrips: 0,
    statements: [] as string[],
    bindings: [] as unknown[][],
    rowsRead: 0,
    rowsWritten: 0,
  }
  const meter = <T>(result: D1Result<T>): D1Result<T> => {
    counter.rowsRead += result.meta.rows_read
    counter.rowsWritten += result.meta.rows_written
    return result
  }
  const record = (sql: string, bound: unknown[]) => {
    counter.statements.push(sql)
    counter.bindings.push(bound)
  }
  // What each wrapped statement is, for batch() to record.
  const known = new WeakMap<D1PreparedStatement, { sql: string; bound: unknown[] }>()
  const wrapStatement = (statement: D1PreparedStatement, sql: string, bound: unknown[] = []): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get(target, prop) {
        if (prop === 'bind') return (...values: unknown[]) => wrapStatement(target.bind(...values), sql, values)
        const value = Reflect.get(target, prop, target)
        if (typeof value !== 'function') return value
        if (!['first', 'all', 'run', 'raw'].includes(String(prop))) return value.bind(target)
        return async (...args: unknown[]) => {
          counter.roundTrips++
          record(sql, bound)
          if (prop === 'all' || prop === 'run') return meter(await later(await target[prop]()))
          if (prop === 'first') {
            const row = meter(await later(await target.all<Record<string, unknown>>())).results[0] ?? null
            const column = args[0] as string | undefined
            return column === undefined || row === null ? row : row[column]
          }
          return later(await (value as (...a: unknown[]) => unknown).apply(target, args))
        }
      },
    })
    known.set(wrapped, { sql, bound })
    return wrapped
  }
  // The app reads through a session (withSession); count its statements the same way.
  const wrap = <T extends D1Database | D1DatabaseSession>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        if (prop === 'prepare') return (sql: string) => wrapStatement(t.prepare(sql), sql)
        if (prop === 'batch') {
          return async (statements: D1PreparedStatement[]) => {
            counter.roundTrips++
            for (const statement of statements) {
              const { sql, bound } = known.get(statement) ?? { sql: '(unwrapped)', bound: [] }
              record(sql, bound)
            }
            return (await later(await t.batch(statements))).map(meter)
          }
        }
        if (prop === 'withSession') {
          return (constraint?: string) => wrap((t as D1Database).withSession(constraint))
        }
        const value = Reflect.get(t, prop, t)
        return typeof value === 'function' ? value.bind(t) : value
      },
    })
  const wrapped = wrap(db)
  return { db: wrapped, counter }
}

/** A D1 binding whose every call fails, as during an outage. */
export function failingDb(message = 'D1_ERROR: Network connection lost.'): D1Database {
  const fail = () => Promise.reject(new Error(message))
  const statement: D1PreparedStatement = new Proxy({} as D1PreparedStatement, {
    get: (_target, prop) => (prop === 'bind' ? () => statement : fail),
  })
  const db: D1Database = new Proxy({} as D1Database, {
    get: (_target, prop) =>
      prop === 'prepare'
        ? () => statement
        : prop === 'withSession'
          ? () => db
          : prop === 'getBookmark'
            ? () => null
            : fail,
  })
  return db
}
