/**
 * Session token or OAuth access token, decided from what the token says, and what each kind must
 * carry to be taken. A session token is the user's own (Better Auth's JWT plugin) and may do
 * whatever its user may; an access token (RFC 9068, Better Auth's OAuth provider) is an app's, for
 * one resource and what its scopes grant. `typ` alone cannot tell them apart: in shared-secret mode
 * whoever holds the secret mints any header, and `npm run token` once printed access tokens typed
 * `JWT`. So a token that names a resource, a scope or a client is an access token wherever it is
 * sent, and is never taken as a session.
 */
import type { AuthConfig, OAuthConfig } from '../config'
import type { Grant, User } from '../env'
import { serverMisconfigured } from '../problem'
import { invalidToken } from './challenge'
import { grantFromClaims, hasAudience, requireAudience, requireIssuer, userFromClaims } from './claims'
import type { Verified } from './verify'

/** Who a token proves the caller to be, and what it grants: undefined for a session token. */
export interface Caller {
  user: User
  grant: Grant | undefined
}

/** RFC 9068's media type for access tokens; Better Auth's session JWTs carry none or `JWT`. */
const ACCESS_TOKEN_TYP = 'at+jwt'

const isAccessTokenTyp = (typ: unknown) =>
  typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === ACCESS_TOKEN_TYP

/** The claims only an access token carries (RFC 9068 §2.2): its scopes and the client it was issued to. */
const ACCESS_TOKEN_CLAIMS = ['scope', 'client_id', 'azp'] as const

/**
 * An access token is typed at+jwt, or its `aud` names one of this worker's resources
 * (MCP_RESOURCE_URL, API_RESOURCE_URL), or it carries `scope`, `client_id` or `azp`, whatever their
 * values. Every other token is a session token.
 */
export function isAccessToken({ header, claims }: Verified, oauth: OAuthConfig): boolean {
  if (isAccessTokenTyp(header.typ)) return true
  if (ACCESS_TOKEN_CLAIMS.some((name) => claims[name] !== undefined)) return true
  return [oauth.mcpResource, oauth.apiResource].some(
    (resource) => resource !== undefined && hasAudience(claims, resource),
  )
}

/** A session token (not an access token): the configured issuer and audience (JWT_ISSUER, JWT_AUDIENCE, or Better Auth's). */
export function asSessionToken({ claims }: Verified, auth: AuthConfig): Caller {
  requireIssuer(claims, auth.issuer)
  requireAudience(claims, auth.audience)
  return { user: userFromClaims(claims, auth.clockSkewSeconds), grant: undefined }
}

/**
 * An access token for `resource`: its `aud` must contain the resource. In JWKS mode it must also be
 * `typ: at+jwt` from the OAuth issuer, which Better Auth's session JWTs never are. In shared-secret
 * mode, where whoever holds the secret can mint any token, the audience and a `scope` suffice.
 */
export function asAccessToken(
  { header, claims, published }: Verified,
  auth: AuthConfig,
  oauth: OAuthConfig,
  resource: string,
): Caller {
  if (!hasAudience(claims, resource)) throw invalidToken('The token is not for this resource (aud).')
  if (published) {
    if (oauth.issuer === undefined) throw serverMisconfigured()
    if (!isAccessTokenTyp(header.typ)) throw invalidToken('An access token must be typed at+jwt.')
    requireIssuer(claims, oauth.issuer)
  } else {
    requireIssuer(claims, auth.issuer)
  }
  const user = userFromClaims(claims, auth.clockSkewSeconds)
  return { user, grant: grantFromClaims(claims) }
}
