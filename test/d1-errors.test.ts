/**
 * D1 failures are classified: only a transient one (the database restarting, overloaded or out of
 * reach, or no answer in time) is a 503 with Retry-After. Anything else is our fault, a 500 that is
 * logged: retrying it would fail the same way forever. The messages are the ones D1 documents
 * (developers.cloudflare.com/d1/observability/debug-d1/) and the ones local D1 really produces.
 */
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest'
import { expectProblem, failingDb, type SignedIn, signIn } from './helpers'

let user: SignedIn
let logged: MockInstance<typeof console.error>
beforeEach(async () => {
  user = await signIn()
  logged = vi.spyOn(console, 'error').mockImplementation(() => {})
})
afterEach(() => vi.restoreAllMocks())

const TRANSIENT = [
  'D1_ERROR: D1 DB reset because its code was updated.',
  'D1_ERROR: Internal error while starting up D1 DB storage caused object to be reset.',
  'D1_ERROR: Network connection lost.',
  'D1_ERROR: Internal error in D1 DB storage caused object to be reset.',
  'D1_ERROR: Cannot resolve D1 DB due to transient issue on remote node.',
  "D1_ERROR: Can't read from request stream because client disconnected.",
  'D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.',
  'D1_ERROR: D1 DB is overloaded. Requests queued for too long.',
  'D1_ERROR: D1 DB is overloaded. Too many requests queued.',
  "D1_ERROR: D1 DB's isolate exceeded its memory limit and was reset.",
  'D1_ERROR: D1 DB exceeded its CPU time limit and was reset.',
  // Without the prefix, as some paths report them.
  'Network connection lost.',
  'D1 DB is overloaded. Requests queued for too long.',
]

// Local D1's exact words, and production's shorter form (no "extended" part).
const CONSTRAINT = [
  'D1_ERROR: CHECK constraint failed: length(user_id) BETWEEN 1 AND 255: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_CHECK)',
  'D1_ERROR: UNIQUE constraint failed: tasks.id: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_PRIMARYKEY)',
  'D1_ERROR: NOT NULL constraint failed: tasks.title: SQLITE_CONSTRAINT',
  'D1_ERROR: every write to a task must set version = version + 1: SQLITE_CONSTRAINT',
]

const FAULT = [
  'D1_ERROR: no such table: tasks: SQLITE_ERROR',
  'D1_ERROR: no such column: titel: SQLITE_ERROR',
  "D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'",
  'D1_COLUMN_NOTFOUND',
  'D1_ERROR: string or blob too big: SQLITE_TOOBIG',
]

const create = (db: D1Database) => user.request('/tasks', { method: 'POST', body: { title: 'x' }, env: { DB: db } })

const lastLog = () => JSON.parse(String(logged.mock.lastCall?.[0])) as Record<string, unknown>

describe('a transient D1 failure', () => {
  it('is a 503 with Retry-After, logged', async () => {
    for (const message of TRANSIENT) {
      const res = await create(failingDb(message))
      const problem = await expectProblem(res, 503)
      expect(problem.type, message).toBe('/problems/service-unavailable')
      expect(res.headers.get('Retry-After')).toBe('5')
      expect(lastLog()).toMatchObject({ message: 'database failure', transient: true, requestId: problem.requestId })
    }
  })
})

describe('a constraint failure', () => {
  it('is a 500 without Retry-After, logged with the constraint: validation mirrors every one, so it is a bug', async () => {
    for (const message of CONSTRAINT) {
      const res = await create(failingDb(message))
      const problem = await expectProblem(res, 500)
      expect(problem.type, message).toBe('/problems/internal-error')
      expect(res.headers.get('Retry-After')).toBeNull()
      expect(JSON.stringify(problem)).not.toMatch(/constraint|SQLITE/i)
      expect(lastLog()).toMatchObject({
        message: 'database failure',
        transient: false,
        error: expect.stringContaining(message),
      })
    }
  })

  it('is a 500 when real D1 refuses a write, and nothing is stored', async () => {
    // The create's INSERT swapped for one that breaks a CHECK, so D1 itself produces the error. It
    // names the INSERT's highest parameter, because D1 wants every bound value used.
    const sabotage = (sql: string) => {
      const highest = Math.max(...[...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])))
      return `INSERT INTO task_counts (user_id, n) SELECT ?1, -1 WHERE ?${highest} IS NULL OR 1`
    }
    const sabotaged = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === 'withSession') return () => sabotaged
        if (prop === 'getBookmark') return () => null
        if (prop === 'prepare') {
          return (sql: string) => target.prepare(sql.startsWith('INSERT INTO tasks') ? sabotage(sql) : sql)
        }
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const res = await create(sabotaged)
    await expectProblem(res, 500)
    expect(res.headers.get('Retry-After')).toBeNull()
    expect(String(lastLog().error)).toMatch(/CHECK constraint failed: n >= 0/)
    const { n } = (await env.DB.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1')
      .bind(user.id)
      .first<{ n: number }>())!
    expect(n).toBe(0)
  })
})

describe('any other D1 failure', () => {
  it('is a 500 without Retry-After, logged', async () => {
    for (const message of FAULT) {
      const res = await create(failingDb(message))
      const problem = await expectProblem(res, 500)
      expect(problem.type, message).toBe('/problems/internal-error')
      expect(res.headers.get('Retry-After')).toBeNull()
      expect(lastLog()).toMatchObject({ message: 'database failure', transient: false })
    }
  })
})
