import type { RequestIdVariables } from 'hono/request-id'
import type { Db } from './db'

/** The caller, as proven by a verified token. Set only by src/auth/middleware.ts. */
export interface User {
  /** The token's `sub`: every task query is scoped by it. */
  id: string
  email: string | null
  name: string | null
}

/** What an OAuth access token grants besides its user. Set only by src/auth/middleware.ts; undefined for a session JWT. */
export interface Grant {
  scopes: ReadonlySet<string>
  /** The OAuth client the user authorized (`azp`, else `client_id`). */
  clientId: string
}

/** Time spent waiting, per request, for Server-Timing and the request log (src/observability.ts, src/respond.ts). */
export interface Timing {
  /** performance.now() when the request arrived. */
  startedAt: number
  authMs: number
  dbMs: number
}

/**
 * `Env` is generated from wrangler.toml by `npm run cf-typegen` (`wrangler types`). Read the
 * variables with `c.get()`: hono's `c.var` copies every variable into a new object on each access.
 */
export interface AppEnv {
  Bindings: Env
  Variables: RequestIdVariables & {
    user: User
    /** Undefined for a session JWT, which may do whatever its user may. */
    grant: Grant | undefined
    /**
     * The `exp` of the token that proved the user (seconds since the epoch), or of the token a live
     * ticket was issued under. Set only by src/auth.ts; what the token opens must not outlive it.
     */
    tokenExpiry: number
    /** The request's D1 session (src/session.ts); the repo runs every statement on it. */
    db: Db
    timing: Timing
    /** The headers every response gets (src/respond.ts), gathered by the global middleware. */
    commonHeaders: Record<string, string>
  }
}
