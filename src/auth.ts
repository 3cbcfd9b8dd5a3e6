/**
 * The only module that reads, verifies or decodes a token. Everything after `requireUser` sees
 * `c.var.user`, never the token or its raw claims.
 *
 * The token's `alg` picks exactly one path, and nothing else is accepted:
 * - HS256: shared-secret mode, verified by hono's `jwt()` with the BETTER_AUTH_SECRET key.
 * - EdDSA, ES256, ES512, RS256, PS256: JWKS mode, verified by hono's `verify()` with the key whose
 *   `kid` Better Auth publishes, imported only for that algorithm's key type (src/jwks.ts).
 * Both check the signature, `typ`, `crit`, `iss` and `aud`. Neither requires `exp` or `sub`, nor
 * allows clock skew, so the time and identity claims are checked here once the signature is good.
 * Before either runs, the token must be three canonical base64url segments and its header must
 * name no key source of its own, so one token has exactly one spelling and one key.
 *
 * OAuth access tokens (RFC 9068) from Better Auth's OAuth provider take the same two paths, with
 * the provider's issuer, the resource as audience, and their scopes kept as `c.var.grant`: see
 * `requireMcpAccess` (/mcp) and `requireCaller` (the REST API) at the end of this module. Every
 * check above applies to them too.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { HTTPException } from 'hono/http-exception'
import { jwt, verify } from 'hono/jwt'
import { decodeBase64Url } from 'hono/utils/encode'
import { decodeHeader, type VerifyOptions } from 'hono/utils/jwt/jwt'
import { type AuthConfig, getConfig, type OAuthConfig } from './config'
import type { AppEnv, Grant, User } from './env'
import { type AsymmetricAlg, isAsymmetricAlg, KeySetUnavailable, keySetFor } from './jwks'
import { annotate } from './openapi/annotate'
import {
  forbidden,
  Problem,
  serverMisconfigured,
  serviceUnavailable,
  unauthorized as unauthorizedProblem,
} from './problem'

const REALM = 'tasks'
/** Far above any real token; refuses header-stuffing before any work is done. */
const MAX_AUTHORIZATION_LENGTH = 8 * 1024
const MAX_SUB_LENGTH = 255

type ErrorCode = 'invalid_request' | 'invalid_token'

// The challenge is built from constants only: it never echoes the URL or the token.
function unauthorized(detail: string, error?: ErrorCode): Problem {
  // Details are fixed strings of ours; keep them safe inside the quoted-string.
  detail = detail.replace(/["\\]/g, "'")
  const challenge = error
    ? `Bearer realm="${REALM}", error="${error}", error_description="${detail}"`
    : `Bearer realm="${REALM}"`
  return unauthorizedProblem(detail, challenge)
}

/** The 401 for a token that is genuine but expired or not valid yet: its `sub` has been verified. */
class OutsideValidity extends Problem {
  constructor(
    detail: string,
    readonly sub: string,
    headers = unauthorized(detail, 'invalid_token').headers,
  ) {
    super('unauthorized', detail, undefined, headers)
  }
}

/**
 * The verified `sub` of a token refused only because it is expired or not valid yet, so that the
 * caller can count the refusal against that user rather than the client's address; undefined for
 * every other error, since no other refused token proves who sent it.
 *
 * @example
 * const sub = verifiedSubOf(error)
 * const key = sub === undefined ? `ip:${address}` : `user:${sub}`
 */
export const verifiedSubOf = (error: unknown): string | undefined =>
  error instanceof OutsideValidity ? error.sub : undefined

type JwtEnv = { Variables: { jwtPayload: unknown } }
type Verifier = MiddlewareHandler<JwtEnv>

/**
 * What both paths ask hono to check besides the signature. exp, nbf and iat are checked in
 * userFromClaims instead, with the configured clock skew.
 */
const claimChecks = (auth: AuthConfig) => ({
  exp: false,
  nbf: false,
  iat: false,
  ...(auth.issuer && { iss: auth.issuer }),
  ...(auth.audience && { aud: auth.audience }),
})

const verifiers = new WeakMap<AuthConfig, Promise<Verifier>>()

/**
 * One HMAC key import per isolate and configuration, not per request. Passing a CryptoKey also
 * keeps hono from treating a secret that happens to contain "PUBLIC" or "PRIVATE" as a PEM key.
 */
function verifierFor(auth: AuthConfig, secret: string): Promise<Verifier> {
  let verifier = verifiers.get(auth)
  if (!verifier) {
    verifier = crypto.subtle
      .importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
      .then((key) =>
        jwt({
          secret: key,
          alg: 'HS256',
          realm: REALM,
          verification: claimChecks(auth),
        }),
      )
    verifier.catch(() => verifiers.delete(auth))
    verifiers.set(auth, verifier)
  }
  return verifier
}

/** Only `Authorization: Bearer <token>`: scheme case-insensitive, exactly one token. */
function bearerToken(header: string | undefined): string {
  if (!header) throw unauthorized('A bearer token is required.')
  if (header.length > MAX_AUTHORIZATION_LENGTH)
    throw unauthorized('The Authorization header is too long.', 'invalid_request')
  const parts = header.split(/\s+/)
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer') {
    throw unauthorized('The Authorization header must be "Bearer <token>".', 'invalid_request')
  }
  return parts[1]!
}

const invalidToken = (detail = 'The bearer token is invalid.') => unauthorized(detail, 'invalid_token')

/**
 * Unpadded base64url whose last partial group leaves its unused bits zero: the one spelling of
 * each byte string. Hand-written because hono's decoder (atob) also accepts padding, `+`, `/`,
 * whitespace and set unused bits, and no platform API checks the canonical form.
 */
const CANONICAL_BASE64URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$/

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** UTF-8 (RFC 7515 requires it of the header and payload); hono's decoder would substitute U+FFFD. */
function isUtf8(segment: string): boolean {
  try {
    strictUtf8.decode(decodeBase64Url(segment))
    return true
  } catch {
    return false
  }
}

/**
 * Refuses any token that is not exactly three canonical segments, or whose header or payload is
 * not UTF-8, before it is decoded.
 */
function assertCanonical(token: string): void {
  const segments = token.split('.')
  if (segments.length !== 3 || !segments.every((segment) => CANONICAL_BASE64URL.test(segment))) {
    throw invalidToken('The bearer token is not three canonical base64url segments.')
  }
  if (!isUtf8(segments[0]!) || !isUtf8(segments[1]!)) throw invalidToken('The token header and payload must be UTF-8.')
}

// Headers that point at keys chosen by whoever made the token. We never use them; a token
// carrying one is not from Better Auth and is refused outright.
const KEY_SOURCE_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const

/**
 * The protected header of a canonical token that names no key source, for every token path. Only
 * the header, to choose the path; the payload is parsed once, by the verifier.
 */
function protectedHeader(token: string): Record<string, unknown> {
  assertCanonical(token)
  let header: unknown
  try {
    header = decodeHeader(token)
  } catch {
    throw invalidToken()
  }
  // Valid JSON is not necessarily an object: `null` or `42` must be a 401, not a TypeError.
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw invalidToken()
  if (KEY_SOURCE_HEADERS.some((name) => name in header)) throw invalidToken()
  return header as Record<string, unknown>
}

/** JWKS mode: the published key for `kid`, of the type `alg` requires, verifies the token. */
async function verifyWithKeySet(
  token: string,
  header: Record<string, unknown>,
  alg: AsymmetricAlg,
  auth: AuthConfig,
  jwksUrl: string,
  checks: VerifyOptions = claimChecks(auth),
): Promise<Verified> {
  const { kid } = header
  if (typeof kid !== 'string' || kid === '') throw invalidToken('The token names no signing key (kid).')
  const key = await publishedKey(jwksUrl, kid, alg)
  if (!key) throw invalidToken('The token is not signed by a key the identity provider publishes.')
  try {
    return { payload: await verify(token, key, { alg, ...checks }), published: { kid, alg, key } }
  } catch {
    throw invalidToken()
  }
}

/** The key Better Auth publishes for `kid`, of the type `alg` requires; null when there is none. */
async function publishedKey(jwksUrl: string, kid: string, alg: AsymmetricAlg): Promise<CryptoKey | null> {
  try {
    return await keySetFor(jwksUrl).key(kid, alg)
  } catch (error) {
    if (error instanceof KeySetUnavailable) {
      throw serviceUnavailable("The identity provider's signing keys are unavailable; try again shortly.")
    }
    throw error
  }
}

/** Shared-secret mode: hono's jwt() middleware, pinned to HS256, run on this request. */
async function verifyWithSecret(c: Context<AppEnv>, auth: AuthConfig, secret: string): Promise<unknown> {
  const jwtContext = c as unknown as Context<JwtEnv>
  try {
    await (await verifierFor(auth, secret))(jwtContext, async () => {})
  } catch (error) {
    if (error instanceof HTTPException) throw invalidToken()
    throw error
  }
  const payload = jwtContext.get('jwtPayload')
  // Raw claims stay in this module: the rest of the app gets the User, nothing else.
  jwtContext.set('jwtPayload', undefined)
  return payload
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
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) {
    throw invalid(`The token claim sub must be a string of 1 to ${MAX_SUB_LENGTH} characters.`)
  }
  if (!isPlainText(sub)) throw invalid('The token claim sub must not contain control characters or lone surrogates.')
  if (!optionalString(email) || !optionalString(name)) throw invalid('The token claims email and name must be strings.')
  // Only now is sub known to be a usable identity, so only now may a refusal name it.
  const outside = (detail: string) => new OutsideValidity(detail, sub)
  if (now >= exp + clockSkewSeconds) throw outside('The token has expired.')
  if (nbf !== undefined && nbf > now + clockSkewSeconds) throw outside('The token is not valid yet (nbf).')
  if (iat !== undefined && iat > now + clockSkewSeconds) throw outside('The token was issued in the future (iat).')
  return { id: sub, email: displayText(email), name: displayText(name) }
}

/** The `exp` of a payload userFromClaims has accepted, which makes it a number. */
const expiryOf = (payload: unknown) => (payload as { exp: number }).exp

/** A token whose signature, typ, crit, iss and aud passed, and the key that verified it. */
interface Verified {
  payload: unknown
  /** JWKS mode: the key it was verified with, which must still be the one published for `kid`. */
  published?: { kid: string; alg: AsymmetricAlg; key: CryptoKey }
}

/**
 * Tokens verified in this isolate, per configuration: a client sends the same token with every
 * request until it expires, and checking its signature is most of a request's CPU. A hit skips
 * only the signature and the checks hono makes; userFromClaims still runs on every request, so
 * no token is accepted past its exp (or before its nbf). A new configuration is a new AuthConfig
 * and starts empty; in JWKS mode a hit also asks the key set for the token's key and counts only
 * if it is the very key that verified it, so a refreshed or withdrawn key verifies afresh.
 */
const verifiedTokens = new WeakMap<AuthConfig, Map<string, Verified>>()
const MAX_VERIFIED_TOKENS = 1000

async function recall(auth: AuthConfig, token: string): Promise<Verified | undefined> {
  const verified = verifiedTokens.get(auth)?.get(token)
  if (!verified?.published || !auth.jwksUrl) return verified
  const { kid, alg, key } = verified.published
  if ((await publishedKey(auth.jwksUrl, kid, alg)) === key) return verified
  verifiedTokens.get(auth)?.delete(token)
  return undefined
}

function remember(auth: AuthConfig, token: string, verified: Verified) {
  let tokens = verifiedTokens.get(auth)
  if (!tokens) {
    tokens = new Map()
    verifiedTokens.set(auth, tokens)
  }
  // Dropping everything at the bound is crude but keeps memory flat whatever clients send.
  if (tokens.size >= MAX_VERIFIED_TOKENS) tokens.clear()
  tokens.set(token, verified)
}

/** Authentication for every protected route: 401 unless a valid token names the caller. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  const { auth } = getConfig(c.env)
  if ('error' in auth) throw serverMisconfigured()
  const token = bearerToken(c.req.header('Authorization'))
  // The memory holds only tokens that passed protectedHeader(), whose verdict depends on nothing
  // but the token's text: a remembered token would pass it again, so a hit does not re-decode it.
  const known = await recall(auth, token)
  if (known) {
    try {
      c.set('user', userFromClaims(known.payload, auth.clockSkewSeconds))
      c.set('tokenExpiry', expiryOf(known.payload))
    } catch (error) {
      verifiedTokens.get(auth)?.delete(token)
      throw error
    }
    return next()
  }

  const header = protectedHeader(token)
  let verified: Verified
  // An HS* token never meets a public key, and an asymmetric one never meets the secret.
  const alg = header.alg
  if (alg === 'HS256' && auth.secret !== undefined) {
    verified = { payload: await verifyWithSecret(c, auth, auth.secret) }
  } else if (isAsymmetricAlg(alg) && auth.jwksUrl !== undefined) {
    verified = await verifyWithKeySet(token, header, alg, auth, auth.jwksUrl)
  } else {
    throw invalidToken('The token is not signed with an accepted algorithm.')
  }
  c.set('user', userFromClaims(verified.payload, auth.clockSkewSeconds))
  c.set('tokenExpiry', expiryOf(verified.payload))
  // Only a token that is valid now: one refused for its claims is checked afresh each time.
  remember(auth, token, verified)
  await next()
})

// OAuth access tokens ----------------------------------------------------------------------------

/** The scopes an access token may carry: reading the user's tasks, and changing them. */
export const SCOPES = { read: 'tasks:read', write: 'tasks:write' } as const

/** RFC 9068's media type for access tokens; Better Auth's session JWTs carry none or `JWT`. */
const ACCESS_TOKEN_TYP = 'at+jwt'

const hmacKeys = new WeakMap<AuthConfig, Promise<CryptoKey>>()

function hmacKeyFor(auth: AuthConfig, secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(auth)
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'verify',
    ])
    hmacKeys.set(auth, key)
  }
  return key
}

const isAccessTokenTyp = (typ: unknown) =>
  typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === ACCESS_TOKEN_TYP

/** What an access token adds to the claims a session token has. */
function grantFromClaims(payload: unknown): Grant {
  const { scope, azp, client_id: clientId, cnf } = payload as Record<string, unknown>
  // A sender-constrained token (DPoP, mTLS) is safe only where its proof is checked, and none is here.
  if (cnf !== undefined) throw invalidToken('Sender-constrained tokens (cnf) are not accepted here.')
  if (typeof scope !== 'string') throw invalidToken('The token claim scope must be a string.')
  const client = azp ?? clientId
  if (typeof client !== 'string' || client === '') throw invalidToken('The token names no client (azp or client_id).')
  return { scopes: new Set(scope.split(' ').filter(Boolean)), clientId: client }
}

/**
 * An access token for `resource`: its `aud` must contain the resource. In JWKS mode it must also be
 * `typ: at+jwt` from the OAuth issuer, which Better Auth's session JWTs never are. In shared-secret
 * mode, where whoever holds the secret can mint any token, an HS256 token with the audience and a
 * `scope` is one.
 */
async function verifyAccessToken(
  c: Context<AppEnv>,
  auth: AuthConfig,
  oauth: OAuthConfig,
  resource: string,
): Promise<{ user: User; grant: Grant; expiry: number }> {
  const token = bearerToken(c.req.header('Authorization'))
  const header = protectedHeader(token)
  const checks = { ...claimChecks(auth), aud: resource }
  let payload: unknown
  if (header.alg === 'HS256' && auth.secret !== undefined) {
    const typ = header.typ === undefined ? {} : { typ: ['JWT', ACCESS_TOKEN_TYP] }
    try {
      payload = await verify(token, await hmacKeyFor(auth, auth.secret), { alg: 'HS256', ...checks, ...typ })
    } catch {
      throw invalidToken()
    }
  } else if (isAsymmetricAlg(header.alg) && auth.jwksUrl !== undefined) {
    if (oauth.issuer === undefined) throw serverMisconfigured()
    const accessChecks = { ...checks, iss: oauth.issuer, typ: ACCESS_TOKEN_TYP }
    payload = (await verifyWithKeySet(token, header, header.alg, auth, auth.jwksUrl, accessChecks)).payload
  } else {
    throw invalidToken('The token is not signed with an accepted algorithm.')
  }
  const user = userFromClaims(payload, auth.clockSkewSeconds)
  return { user, grant: grantFromClaims(payload), expiry: expiryOf(payload) }
}

/** 403 for a valid token that lacks `scope` (RFC 6750 §3.1), naming the scope to ask for. */
const insufficientScope = (scope: string) =>
  new Problem('forbidden', `This token was not granted the ${scope} scope.`, undefined, {
    'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`,
  })

/** The same 401, pointing at the resource's metadata (RFC 9728 §5.1) so a client finds where to get a token. */
function pointToMetadata(problem: Problem, metadataUrl: string): Problem {
  const challenge = (problem.headers['WWW-Authenticate'] ?? '').replace(
    `realm="${REALM}"`,
    `realm="${REALM}", resource_metadata="${metadataUrl}"`,
  )
  const headers = { ...problem.headers, 'WWW-Authenticate': challenge }
  // An expired genuine token keeps its verified sub, so the rate limiter still counts it against the user.
  if (problem instanceof OutsideValidity) return new OutsideValidity(problem.detail, problem.sub, headers)
  return new Problem(problem.slug, problem.detail, problem.errors, headers)
}

/**
 * Authentication for /mcp: only an access token whose `aud` contains MCP_RESOURCE_URL. Session
 * JWTs and tokens for any other resource are refused, so a token a user gave another app cannot
 * be replayed here. Scopes are checked per tool, by the MCP server (src/mcp/).
 */
export const requireMcpAccess = createMiddleware<AppEnv>(async (c, next) => {
  const { auth, oauth } = getConfig(c.env)
  if ('error' in auth || 'error' in oauth || oauth.mcpResource === undefined || oauth.mcpMetadataUrl === undefined) {
    throw serverMisconfigured()
  }
  try {
    const { user, grant, expiry } = await verifyAccessToken(c, auth, oauth, oauth.mcpResource)
    c.set('user', user)
    c.set('grant', grant)
    c.set('tokenExpiry', expiry)
  } catch (error) {
    throw error instanceof Problem && error.status === 401 ? pointToMetadata(error, oauth.mcpMetadataUrl) : error
  }
  await next()
})

/**
 * Authentication for the REST API: session JWTs exactly as `requireUser` takes them and, when
 * API_RESOURCE_URL is set, access tokens for it, whose scopes `requireMethodScope` then checks.
 */
export const requireCaller = createMiddleware<AppEnv>(async (c, next) => {
  let typ: unknown
  try {
    const token = bearerToken(c.req.header('Authorization'))
    // A token requireUser has verified and remembers is a session JWT: no need to decode it again.
    const { auth } = getConfig(c.env)
    if (!('error' in auth) && verifiedTokens.get(auth)?.has(token)) return requireUser(c, next)
    typ = protectedHeader(token).typ
  } catch {
    // requireUser gives the same refusal, as it always has.
  }
  if (!isAccessTokenTyp(typ)) return requireUser(c, next)
  const { auth, oauth } = getConfig(c.env)
  if ('error' in auth || 'error' in oauth) throw serverMisconfigured()
  // Without API_RESOURCE_URL, requireUser refuses an access token, as it always has.
  if (oauth.apiResource === undefined) return requireUser(c, next)
  const { user, grant, expiry } = await verifyAccessToken(c, auth, oauth, oauth.apiResource)
  c.set('user', user)
  c.set('grant', grant)
  c.set('tokenExpiry', expiry)
  await next()
})

/**
 * After `requireCaller`: an access token may read with tasks:read and write with tasks:write;
 * a session JWT may do both.
 */
export function requireMethodScope(c: Context<AppEnv>): void {
  const grant = c.get('grant')
  if (grant === undefined) return
  const needed = c.req.method === 'GET' || c.req.method === 'HEAD' ? SCOPES.read : SCOPES.write
  if (!grant.scopes.has(needed)) throw insufficientScope(needed)
}

/** After `requireCaller`, where the method does not say what is done: an access token needs `scope`. */
export const requireScope =
  (scope: string) =>
  (c: Context<AppEnv>): void => {
    const grant = c.get('grant')
    if (grant !== undefined && !grant.scopes.has(scope)) throw insufficientScope(scope)
  }

/**
 * For what no scope grants, erasing the whole account: only the user's own session JWT. An app's
 * access token, whatever its scopes, is refused, so an app given the tasks cannot delete the user.
 */
export const requireSessionToken = annotate(
  createMiddleware<AppEnv>(async (c, next) => {
    if (c.get('grant') !== undefined) {
      throw forbidden("Erasing the account needs the user's own session token; an app's access token cannot do it.")
    }
    await next()
  }),
  { problems: ['forbidden'] },
)

// Credentials this API issues itself --------------------------------------------------------------

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
    c.set('tokenExpiry', issued.tokenExpiry)
    await next()
  })

/** The 401 for a credential this API issued that is unknown, expired or used already. */
export const unknownCredential = () =>
  invalidToken('The ticket is unknown, expired or used already; ask for a new one.')

/** The 401 for a valid token too close to its `exp` (within the clock skew) to issue anything under. */
export const expiresTooSoon = () =>
  invalidToken('The token expires too soon to issue a ticket under; refresh it and ask again.')
