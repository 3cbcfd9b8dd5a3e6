/**
 * The only module that reads, verifies or decodes a token. Everything after `requireUser` sees
 * `c.var.user`, never the token or its raw claims.
 *
 * Signature, algorithm (HS256 only), `typ`, `crit`, `iss` and `aud` are checked by hono's `jwt()`.
 * It does not require `exp` or `sub` and allows no clock skew, so the time claims and the identity
 * claims are checked here, after the signature is known to be good.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { HTTPException } from 'hono/http-exception'
import { jwt } from 'hono/jwt'
import { type AuthConfig, getConfig } from './config'
import type { AppEnv, User } from './env'
import { Problem, serverMisconfigured } from './problem'

const REALM = 'tasks'
/** Far above any real token; refuses header-stuffing before any work is done. */
const MAX_AUTHORIZATION_LENGTH = 8 * 1024
const MAX_SUB_LENGTH = 255

type ErrorCode = 'invalid_request' | 'invalid_token'

// The challenge is built from constants only: it never echoes the URL or the token.
function unauthorized(detail: string, error?: ErrorCode): Problem {
  const challenge = error
    ? `Bearer realm="${REALM}", error="${error}", error_description="${detail}"`
    : `Bearer realm="${REALM}"`
  return new Problem(401, 'unauthorized', 'Unauthorized', detail, undefined, { 'WWW-Authenticate': challenge })
}

type JwtEnv = { Variables: { jwtPayload: unknown } }
type Verifier = MiddlewareHandler<JwtEnv>

const verifiers = new WeakMap<AuthConfig, Promise<Verifier>>()

/**
 * One HMAC key import per isolate and configuration, not per request. Passing a CryptoKey also
 * keeps hono from treating a secret that happens to contain "PUBLIC" or "PRIVATE" as a PEM key.
 */
function verifierFor(auth: AuthConfig): Promise<Verifier> {
  let verifier = verifiers.get(auth)
  if (!verifier) {
    verifier = crypto.subtle
      .importKey('raw', new TextEncoder().encode(auth.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
      .then((key) =>
        jwt({
          secret: key,
          alg: 'HS256',
          realm: REALM,
          verification: {
            // Checked below with the configured clock skew.
            exp: false,
            nbf: false,
            iat: false,
            ...(auth.issuer && { iss: auth.issuer }),
            ...(auth.audience && { aud: auth.audience }),
          },
        }),
      )
    verifier.catch(() => verifiers.delete(auth))
    verifiers.set(auth, verifier)
  }
  return verifier
}

/** Only `Authorization: Bearer <token>`: scheme case-insensitive, exactly one token. */
function requireBearerHeader(header: string | undefined): void {
  if (!header) throw unauthorized('A bearer token is required.')
  if (header.length > MAX_AUTHORIZATION_LENGTH) throw unauthorized('The Authorization header is too long.', 'invalid_request')
  const parts = header.split(/\s+/)
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer') {
    throw unauthorized('The Authorization header must be "Bearer <token>".', 'invalid_request')
  }
}

const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)
const optionalString = (value: unknown): value is string | null | undefined =>
  value === undefined || value === null || typeof value === 'string'

/** Claims hono does not check, on a payload whose signature has been verified. */
function userFromClaims(payload: unknown, clockSkewSeconds: number, now = Date.now() / 1000): User {
  const invalid = (detail: string) => unauthorized(detail, 'invalid_token')
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw invalid('The token payload is not a JSON object.')
  }
  const { exp, nbf, iat, sub, email, name } = payload as Record<string, unknown>
  if (exp === undefined) throw invalid('The token has no expiry (exp).')
  if (!isNumericDate(exp)) throw invalid('The token claim exp must be a number.')
  if (nbf !== undefined && !isNumericDate(nbf)) throw invalid('The token claim nbf must be a number.')
  if (iat !== undefined && !isNumericDate(iat)) throw invalid('The token claim iat must be a number.')
  if (now >= exp + clockSkewSeconds) throw invalid('The token has expired.')
  if (nbf !== undefined && nbf > now + clockSkewSeconds) throw invalid('The token is not valid yet (nbf).')
  if (iat !== undefined && iat > now + clockSkewSeconds) throw invalid('The token was issued in the future (iat).')
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) {
    throw invalid(`The token claim sub must be a string of 1 to ${MAX_SUB_LENGTH} characters.`)
  }
  if (!optionalString(email) || !optionalString(name)) throw invalid('The token claims email and name must be strings.')
  return { id: sub, email: email ?? null, name: name ?? null }
}

/** Authentication for every protected route: 401 unless a valid token names the caller. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  const { auth } = getConfig(c.env)
  if ('error' in auth) throw serverMisconfigured()
  requireBearerHeader(c.req.header('Authorization'))

  const verify = await verifierFor(auth)
  const jwtContext = c as unknown as Context<JwtEnv>
  try {
    await verify(jwtContext, async () => {})
  } catch (error) {
    if (error instanceof HTTPException) throw unauthorized('The bearer token is invalid.', 'invalid_token')
    throw error
  }
  const payload = jwtContext.get('jwtPayload')
  // Raw claims stay in this module: the rest of the app gets the User, nothing else.
  jwtContext.set('jwtPayload', undefined)
  c.set('user', userFromClaims(payload, auth.clockSkewSeconds))
  await next()
})
