/**
 * The only code that checks a token's signature. The token's `alg` picks exactly one key, and
 * nothing else is accepted:
 * - HS256: shared-secret mode, the BETTER_AUTH_SECRET key.
 * - EdDSA, ES256, ES512, RS256, PS256: JWKS mode, the key whose `kid` Better Auth publishes,
 *   imported only for that algorithm's key type (key-set.ts).
 * hono's `verify()` checks the signature, that `alg` matches, that there is no `crit`, and that
 * `typ`, if present, is `JWT` or `at+jwt`. What the claims must say depends on the kind of token and
 * the door it knocks at, so classify.ts and claims.ts check them, on every request.
 */
import { verify } from 'hono/jwt'
import type { AuthConfig } from '../config'
import { invalidToken } from './challenge'
import type { ProtectedHeader } from './encoding'
import { type AsymmetricAlg, isAsymmetricAlg } from './key-set'
import { publishedKey, secretKey } from './keys'

/** The media types a token may declare: a JWT (RFC 7519), or an OAuth access token (RFC 9068). */
const TOKEN_TYPES = ['JWT', 'at+jwt']

/** A token whose signature is good, and the key that verified it. */
export interface Verified {
  header: ProtectedHeader
  /** Signed, but not yet checked: see claims.ts. */
  claims: Record<string, unknown>
  /** JWKS mode: the key it was verified with, which must still be the one published for `kid`. */
  published?: { kid: string; alg: AsymmetricAlg; key: CryptoKey }
}

/** Verifies the signature of a token whose spelling and header encoding.ts has accepted. */
export async function verifySignature(token: string, header: ProtectedHeader, auth: AuthConfig): Promise<Verified> {
  const { alg } = header
  let key: CryptoKey
  let published: Verified['published']
  // An HS* token never meets a public key, and an asymmetric one never meets the secret.
  if (alg === 'HS256' && auth.secret !== undefined) {
    key = await secretKey(auth.secret)
  } else if (isAsymmetricAlg(alg) && auth.jwksUrl !== undefined) {
    const { kid } = header
    if (typeof kid !== 'string' || kid === '') throw invalidToken('The token names no signing key (kid).')
    const found = await publishedKey(auth.jwksUrl, kid, alg)
    if (!found) throw invalidToken('The token is not signed by a key the identity provider publishes.')
    key = found
    published = { kid, alg, key }
  } else {
    throw invalidToken('The token is not signed with an accepted algorithm.')
  }

  let payload: unknown
  try {
    payload = await verify(token, key, {
      alg,
      // The time claims are checked in claims.ts, with the configured clock skew.
      exp: false,
      nbf: false,
      iat: false,
      // hono takes an absent typ only when no typ is asked for.
      ...(header.typ !== undefined && { typ: TOKEN_TYPES }),
    })
  } catch {
    throw invalidToken()
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw invalidToken('The token payload is not a JSON object.')
  }
  return { header, claims: payload as Record<string, unknown>, ...(published && { published }) }
}

/** JWKS mode: whether the key that verified a remembered token is still the one published for its kid. */
export async function stillPublished({ published }: Verified, auth: AuthConfig): Promise<boolean> {
  if (!published || !auth.jwksUrl) return true
  return (await publishedKey(auth.jwksUrl, published.kid, published.alg)) === published.key
}
