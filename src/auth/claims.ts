/**
 * What a signed token's claims must say, checked on every request: the issuer and audience its
 * kind requires (classify.ts says which), the time window with the configured clock skew, an
 * identity SQLite can store faithfully, and for an access token, its scopes and client. Nothing
 * here allows clock skew silently or takes a claim it does not check.
 */
import type { Grant, User } from '../env'
import { invalidToken, OutsideValidity } from './challenge'

type Claims = Record<string, unknown>

const MAX_SUB_LENGTH = 255

/** `aud` is a string or an array of strings (RFC 7519 §4.1.3); anything else names no audience. */
function audiences(claims: Claims): unknown[] {
  const { aud } = claims
  return Array.isArray(aud) ? aud : [aud]
}

/** Whether `aud` names `audience`, exactly. */
export const hasAudience = (claims: Claims, audience: string): boolean => audiences(claims).includes(audience)

export function requireIssuer(claims: Claims, issuer: string | undefined): void {
  if (issuer !== undefined && claims.iss !== issuer)
    throw invalidToken('The token is not from the expected issuer (iss).')
}

export function requireAudience(claims: Claims, audience: string | undefined): void {
  if (audience !== undefined && !hasAudience(claims, audience)) {
    throw invalidToken('The token is not for this audience (aud).')
  }
}

const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)
const optionalString = (value: unknown): value is string | null | undefined =>
  value === undefined || value === null || typeof value === 'string'

/**
 * No C0 control character, no DEL and no unpaired surrogate: text that SQLite, logs, headers and
 * UTF-8 all carry unchanged (SQLite's length() stops at NUL; a lone surrogate has no UTF-8 form).
 */
function isPlainText(value: string): boolean {
  if (!value.isWellFormed()) return false
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return false
  }
  return true
}

/** email and name are shown, never trusted: one that is not plain text is dropped, not the user. */
const displayText = (value: string | null | undefined): string | null =>
  typeof value === 'string' && isPlainText(value) ? value : null

/** The user a token names, once its time claims and identity pass. */
export function userFromClaims(claims: Claims, clockSkewSeconds: number, now = Date.now() / 1000): User {
  const { exp, nbf, iat, sub, email, name } = claims
  if (exp === undefined) throw invalidToken('The token has no expiry (exp).')
  if (!isNumericDate(exp)) throw invalidToken('The token claim exp must be a number.')
  if (nbf !== undefined && !isNumericDate(nbf)) throw invalidToken('The token claim nbf must be a number.')
  if (iat !== undefined && !isNumericDate(iat)) throw invalidToken('The token claim iat must be a number.')
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) {
    throw invalidToken(`The token claim sub must be a string of 1 to ${MAX_SUB_LENGTH} characters.`)
  }
  if (!isPlainText(sub)) {
    throw invalidToken('The token claim sub must not contain control characters or lone surrogates.')
  }
  if (!optionalString(email) || !optionalString(name)) {
    throw invalidToken('The token claims email and name must be strings.')
  }
  // Only now is sub known to be a usable identity, so only now may a refusal name it.
  const outside = (detail: string) => new OutsideValidity(detail, sub)
  if (now >= exp + clockSkewSeconds) throw outside('The token has expired.')
  if (nbf !== undefined && nbf > now + clockSkewSeconds) throw outside('The token is not valid yet (nbf).')
  if (iat !== undefined && iat > now + clockSkewSeconds) throw outside('The token was issued in the future (iat).')
  return { id: sub, email: displayText(email), name: displayText(name) }
}

/** What an access token adds to the claims a session token has. */
export function grantFromClaims(claims: Claims): Grant {
  const { scope, azp, client_id: clientId, cnf } = claims
  // A sender-constrained token (DPoP, mTLS) is safe only where its proof is checked, and none is here.
  if (cnf !== undefined) throw invalidToken('Sender-constrained tokens (cnf) are not accepted here.')
  if (typeof scope !== 'string') throw invalidToken('The token claim scope must be a string.')
  const client = azp ?? clientId
  if (typeof client !== 'string' || client === '') throw invalidToken('The token names no client (azp or client_id).')
  return { scopes: new Set(scope.split(' ').filter(Boolean)), clientId: client }
}
