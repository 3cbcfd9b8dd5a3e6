/** What an access token's scopes let it do; a session token may do all of it. */
import type { Context } from 'hono'
import type { AppEnv } from '../env'
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
