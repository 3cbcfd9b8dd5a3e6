/**
 * One structured JSON log line per request, and a Server-Timing header (auth, db, total).
 * Workers' clocks advance only across I/O, so these durations measure waiting (D1, key fetches),
 * not CPU time; Workers Logs has the CPU time of each invocation.
 */
import { createMiddleware } from 'hono/factory'
import { routePath } from 'hono/route'
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

export const observe = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now()
  const timing: Timing = { authMs: 0, dbMs: 0 }
  c.set('timing', timing)
  await next()
  const totalMs = performance.now() - started
  // The finished response's own headers: no copy of the Response, unlike a late c.header().
  c.res.headers.set(
    'Server-Timing',
    `auth;dur=${ms(timing.authMs)}, db;dur=${ms(timing.dbMs)}, total;dur=${ms(totalMs)}`,
  )
  const user = c.get('user')
  console.log(
    JSON.stringify({
      level: c.res.status >= 500 ? 'error' : 'info',
      message: 'request',
      requestId: c.var.requestId,
      method: c.req.method,
      route: routePath(c),
      status: c.res.status,
      durationMs: ms(totalMs),
      authMs: ms(timing.authMs),
      dbMs: ms(timing.dbMs),
      ...(user && { user: await userPseudonym(user.id) }),
    }),
  )
})
