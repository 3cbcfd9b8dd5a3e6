/**
 * The waits a Server-Timing header reports on every response (auth, db, total; set in
 * src/respond.ts), and one structured JSON log line for
 * what Workers' own invocation logs cannot know (our request id, the route pattern, the waits, the
 * user's pseudonym): for every refused or failed request, and for a sample of successful ones
 * (REQUEST_LOG_SAMPLE_RATE), since writing a log line costs more CPU than a request to /health.
 * Workers' clocks advance only across I/O, so these durations measure waiting (D1, key fetches),
 * not CPU time; the invocation logs have the CPU time, status and URL of every request.
 */
import { createMiddleware } from 'hono/factory'
import { routePath } from 'hono/route'
import { getConfig } from './config'
import type { Db } from './db'
import type { AppEnv, Timing } from './env'
import { userPseudonym } from './hash'

/** Adds the time since `started` to `timing[part]`, however `operation` ends. */
async function timed<T>(timing: Timing, part: keyof Timing, operation: () => Promise<T>): Promise<T> {
  const started = performance.now()
  try {
    return await operation()
  } finally {
    timing[part] += performance.now() - started
  }
}

/** A statement whose round trips are added to the request's D1 time. */
class TimedStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly timing: Timing,
  ) {}
  bind(...values: unknown[]) {
    return new TimedStatement(this.inner.bind(...values), this.timing)
  }
  first(column?: string) {
    return timed(this.timing, 'dbMs', () => (column === undefined ? this.inner.first() : this.inner.first(column)))
  }
  all() {
    return timed(this.timing, 'dbMs', () => this.inner.all())
  }
  run() {
    return timed(this.timing, 'dbMs', () => this.inner.run())
  }
  raw(options?: { columnNames?: boolean }) {
    return timed(this.timing, 'dbMs', () => this.inner.raw(options as { columnNames: true }))
  }
}

/** `db`, with the time spent waiting on it added to `timing.dbMs`. Plain wrappers, no Proxy. */
export function timedDb(db: Db, timing: Timing): Db {
  return {
    prepare: (sql) => new TimedStatement(db.prepare(sql), timing) as unknown as D1PreparedStatement,
    batch: (statements) =>
      timed(timing, 'dbMs', () => db.batch(statements.map((s) => (s as unknown as TimedStatement).inner))),
  }
}

/** Runs authentication, adding its time (key-set fetches included) to `timing.authMs`. */
export const timeAuth = <T>(timing: Timing, operation: () => Promise<T>) => timed(timing, 'authMs', operation)

const ms = (n: number) => Math.round(n * 10) / 10

/** The Server-Timing value: the waits so far. Workers' clocks advance only across I/O, so "so far" is the whole request. */
export const serverTiming = (timing: Timing) =>
  `auth;dur=${ms(timing.authMs)}, db;dur=${ms(timing.dbMs)}, total;dur=${ms(performance.now() - timing.startedAt)}`

/** A client's own X-Request-Id is kept when it is this (hono's requestId() rule); otherwise a UUID replaces it. */
const WELL_FORMED_REQUEST_ID = /^[\w\-=]{1,255}$/

/**
 * The request id (`c.var.requestId`, the X-Request-Id response header), the waits Server-Timing
 * reports (`c.var.timing`; both headers are set with the other common ones, in src/respond.ts) and
 * the request log line.
 */
export const observe = createMiddleware<AppEnv>(async (c, next) => {
  const timing: Timing = { startedAt: performance.now(), authMs: 0, dbMs: 0 }
  c.set('timing', timing)
  const incoming = c.req.header('X-Request-Id')
  const requestId = incoming !== undefined && WELL_FORMED_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()
  c.set('requestId', requestId)
  await next()
  const { status } = c.res
  if (status < 400 && Math.random() >= getConfig(c.env).logSampleRate) return
  const user = c.get('user')
  console.log(
    JSON.stringify({
      level: status >= 500 ? 'error' : 'info',
      message: 'request',
      requestId,
      method: c.req.method,
      route: routePath(c),
      status,
      durationMs: ms(performance.now() - timing.startedAt),
      authMs: ms(timing.authMs),
      dbMs: ms(timing.dbMs),
      ...(user && { user: await userPseudonym(user.id) }),
    }),
  )
})
