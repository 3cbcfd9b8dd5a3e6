/** What an access token's scopes let it do, and what only a session token may do. */
import type { Context } from 'hono'
import type { AppEnv } from '../env'
import { forbidden } from '../problem'
import { insufficientScope } from './challenge'

/** The scopes an access token may carry: reading the user's tasks, and changing them. */
export const SCOPES = { read: 'tasks:read', write: 'tasks:write' } as const

/**
 * After `requireCaller`: an access token may read with tasks:read and write with tasks:write;
 * a session token may do both.
 */
export function requireMethodScope(c: Context<AppEnv>): void {
  const grant = c.get('grant')
  if (grant === undefined) return
  const needed = c.req.method === 'GET' || c.req.method === 'HEAD' ? SCOPES.read : SCOPES.write
  if (!grant.scopes.has(needed)) throw insufficientScope(needed)
}

/**
 * After `requireCaller`, where the method does not say what is done (a chat turn, whose tools both
 * read and write): an access token needs every one of `scopes`; a session token may do it.
 */
export const requireScopes =
  (...scopes: string[]) =>
  (c: Context<AppEnv>): void => {
    const grant = c.get('grant')
    if (grant === undefined) return
    const missing = scopes.filter((scope) => !grant.scopes.has(scope))
    if (missing.length > 0) throw insufficientScope(missing.join(' '))
  }

/**
 * After `requireCaller`, instead of `requireMethodScope`, for what no scope grants: erasing or
 * exporting the whole account, only with the user's own session token. An access token the REST API
 * takes (API_RESOURCE_URL) is authenticated, so it is a 403 here, whatever its scopes (not
 * insufficient_scope: no scope would do); any other access token was already a 401.
 */
export function requireSessionToken(c: Context<AppEnv>): void {
  if (c.get('grant') !== undefined) {
    throw forbidden("Only the user's own session token may erase or export the account; an app's access token cannot.")
  }
}
