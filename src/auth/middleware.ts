/**
 * The doors: which tokens each part of the API takes, and the one place a verified caller is set
 * on the context. Everything after these sees `c.var.user` (and `c.var.grant`), never the token or
 * its raw claims.
 *
 * - `requireCaller`, the REST API (/tasks, /api, /me): session tokens and, when API_RESOURCE_URL is
 *   set, access tokens for it, whose scopes `requireMethodScope` (scopes.ts) then checks. Any other
 *   access token (classify.ts) is a 401, never taken for a session.
 * - `requireMcpAccess`, /mcp: access tokens for MCP_RESOURCE_URL only.
 * - `requireSessionToken` (scopes.ts), after `requireCaller`: what no scope grants (DELETE /me,
 *   GET /me/export), for session tokens only.
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { type AuthConfig, getConfig, type OAuthConfig } from '../config'
import type { AppEnv } from '../env'
import { Problem, serverMisconfigured } from '../problem'
import { bearerToken } from './bearer'
import { invalidToken, pointToMetadata } from './challenge'
import { asAccessToken, asSessionToken, type Caller, isAccessToken } from './classify'
import { protectedHeader } from './encoding'
import { forget, recall, remember } from './verified-tokens'
import { type Verified, verifySignature } from './verify'

/** The caller the bearer token proves, as `door` takes it. */
async function authenticate(
  c: Context<AppEnv>,
  auth: AuthConfig,
  door: (verified: Verified) => Caller,
): Promise<Caller> {
  const token = bearerToken(c)
  // The memory holds only tokens that passed protectedHeader(), whose verdict depends on nothing
  // but the token's text: a remembered token would pass it again, so a hit does not re-decode it.
  const known = await recall(auth, token)
  const verified = known ?? (await verifySignature(token, protectedHeader(token), auth))
  let caller: Caller
  try {
    caller = door(verified)
  } catch (error) {
    if (known) forget(auth, token)
    throw error
  }
  if (!known) remember(auth, token, verified)
  c.set('user', caller.user)
  c.set('grant', caller.grant)
  // Verified and checked by the door: a number. What this API issues under it must not outlive it.
  c.set('tokenExpiry', (verified.claims as { exp: number }).exp)
  return caller
}

/** The REST API: a session token, or an access token for API_RESOURCE_URL when it is set. */
function restCaller(verified: Verified, auth: AuthConfig, oauth: OAuthConfig): Caller {
  if (!isAccessToken(verified, oauth)) return asSessionToken(verified, auth)
  if (oauth.apiResource === undefined) throw invalidToken('This API does not take OAuth access tokens.')
  return asAccessToken(verified, auth, oauth, oauth.apiResource)
}

/**
 * Authentication for the REST API: 401 unless a token it takes names the caller. The OAuth
 * configuration is needed even for a session token: its resources are what tell the two apart.
 */
export const requireCaller = createMiddleware<AppEnv>(async (c, next) => {
  const { auth, oauth } = getConfig(c.env)
  if ('error' in auth || 'error' in oauth) throw serverMisconfigured()
  await authenticate(c, auth, (verified) => restCaller(verified, auth, oauth))
  await next()
})

/**
 * Authentication for /mcp: only an access token whose `aud` contains MCP_RESOURCE_URL. Session
 * tokens and tokens for any other resource are refused, so a token a user gave another app cannot
 * be replayed here. Scopes are checked per tool, by the MCP server (src/mcp/).
 */
export const requireMcpAccess = createMiddleware<AppEnv>(async (c, next) => {
  const { auth, oauth } = getConfig(c.env)
  if ('error' in auth || 'error' in oauth || oauth.mcpResource === undefined || oauth.mcpMetadataUrl === undefined) {
    throw serverMisconfigured()
  }
  const resource = oauth.mcpResource
  try {
    await authenticate(c, auth, (verified) => {
      if (!isAccessToken(verified, oauth)) throw invalidToken('/mcp takes OAuth access tokens, not session tokens.')
      return asAccessToken(verified, auth, oauth, resource)
    })
  } catch (error) {
    throw error instanceof Problem && error.status === 401 ? pointToMetadata(error, oauth.mcpMetadataUrl) : error
  }
  await next()
})

/** Who a credential this API issued was issued to, and the `exp` of the token it was issued under. */
export interface Issued {
  userId: string
  tokenExpiry: number
}

/**
 * Authentication by a short-lived credential this API issued to a user whose token it had verified
 * (a live ticket, src/live/tickets.ts), for clients that cannot send a header. `find` returns its
 * user, or undefined for a credential that is unknown, expired or used: a 401. The credential's
 * scopes were checked when it was issued; whoever acts on it must still use it up, once
 * (`unknownCredential` when that fails).
 */
export const requireIssued = (find: (c: Context<AppEnv>) => Promise<Issued | undefined>) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const issued = await find(c)
    if (issued === undefined) throw unknownCredential()
    c.set('user', { id: issued.userId, email: null, name: null })
    c.set('grant', undefined)
    c.set('tokenExpiry', issued.tokenExpiry)
    await next()
  })

/** The 401 for a credential this API issued that is unknown, expired or used already. */
export const unknownCredential = () =>
  invalidToken('The ticket is unknown, expired or used already; ask for a new one.')

/** The 401 for a valid token too close to its `exp` (within the clock skew) to issue anything under. */
export const expiresTooSoon = () =>
  invalidToken('The token expires too soon to issue a ticket under; refresh it and ask again.')
