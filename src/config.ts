/**
 * Reads and validates configuration once per `env` object. Anything wrong with authentication
 * settings makes `auth` an error, and anything wrong with the quota or the rate-limit bindings makes
 * `limits` one; the HTTP layer (src/auth.ts, src/limits.ts) then fails protected routes closed with 500.
 */

const MIN_SECRET_LENGTH = 32
const DEFAULT_CLOCK_SKEW_SECONDS = 60
const MAX_CLOCK_SKEW_SECONDS = 300

/** Shared-secret mode (HS256), JWKS mode (asymmetric keys Better Auth publishes), or both. */
export interface AuthConfig {
  /** HS256 key, when BETTER_AUTH_SECRET is set. */
  secret: string | undefined
  /** Where Better Auth publishes its public keys, when BETTER_AUTH_URL or JWKS_URL is set. */
  jwksUrl: string | undefined
  issuer: string | undefined
  audience: string | undefined
  clockSkewSeconds: number
}

/**
 * Abuse limits: the create quota (src/tasks/routes.ts) and the Workers Rate Limiting bindings behind
 * src/ratelimit.ts, whose limits live in wrangler.toml.
 */
export interface Limits {
  /** Most tasks one user may store (TASK_QUOTA). */
  taskQuota: number
  /** Requests per user, keyed by the token's `sub` (USER_RATE_LIMITER). */
  perUser: RateLimit
  /** Refused (401) requests per client IP (AUTH_FAILURE_RATE_LIMITER). */
  perRefusedIp: RateLimit
  /** Most live Idempotency-Key records one user may hold (IDEMPOTENCY_KEYS_PER_USER; TASK_QUOTA by default). */
  idempotencyKeysPerUser: number
  /** Most tombstones kept for one user; past it the oldest go early (TOMBSTONES_PER_USER; TASK_QUOTA by default). */
  tombstonesPerUser: number
}

const TASK_QUOTA = { default: 10_000, max: 1_000_000 }

/**
 * Storage bounds whose default is the task quota, so a user may hold as many of each as tasks and
 * the worst case per user stays a small multiple of what the quota already allows.
 */
const STORAGE_BOUNDS = {
  IDEMPOTENCY_KEYS_PER_USER: 'idempotencyKeysPerUser',
  TOMBSTONES_PER_USER: 'tombstonesPerUser',
} as const satisfies Record<string, keyof Limits>

/** How the /api routes (src/compat/) answer a list: a plain array, or `{ tasks, total }` (API_LIST_FORMAT). */
export type ListFormat = 'array' | 'object'
const LIST_FORMATS: readonly ListFormat[] = ['array', 'object']

/**
 * OAuth 2.1 access tokens (RFC 9068) from Better Auth's OAuth provider. Resources are always taken
 * from configuration, never from the request's Host.
 */
export interface OAuthConfig {
  /** MCP_RESOURCE_URL: this worker's /mcp URL. Unset, /mcp is off. */
  mcpResource: string | undefined
  /** Where RFC 9728 metadata for the MCP resource is served; a 401 from /mcp points here. */
  mcpMetadataUrl: string | undefined
  /** API_RESOURCE_URL: the REST API also takes access tokens whose `aud` contains it. */
  apiResource: string | undefined
  /** OAUTH_ISSUER, or Better Auth's default `<BETTER_AUTH_URL>/api/auth`: access tokens' `iss`. */
  issuer: string | undefined
}

export interface Config {
  auth: AuthConfig | { error: string }
  oauth: OAuthConfig | { error: string }
  limits: Limits | { error: string }
  listFormat: ListFormat | { error: string }
  /** Exact origins allowed by CORS, or '*' for any. */
  corsOrigins: ReadonlySet<string> | '*'
  /** Share of successful requests that get a request log line (src/observability.ts), 0 to 1. */
  logSampleRate: number
}

const cache = new WeakMap<object, Config>()

export function getConfig(env: Env): Config {
  let config = cache.get(env)
  if (!config) {
    const auth = readAuth(env)
    config = {
      auth,
      oauth: readOAuth(env, auth),
      limits: readLimits(env),
      listFormat: readListFormat(env),
      corsOrigins: readOrigins(env.CORS_ORIGINS),
      logSampleRate: readSampleRate(env.REQUEST_LOG_SAMPLE_RATE),
    }
    for (const part of [config.auth, config.oauth, config.limits, config.listFormat]) {
      // Once per isolate and configuration, not once per request.
      if (typeof part === 'object' && 'error' in part)
        console.error(JSON.stringify({ level: 'error', message: 'server misconfigured', reason: part.error }))
    }
    if (!('error' in config.oauth) && config.oauth.mcpResource === undefined) {
      console.info(
        JSON.stringify({ level: 'info', message: 'the MCP endpoint /mcp is off: MCP_RESOURCE_URL is not set' }),
      )
    }
    cache.set(env, config)
  }
  return config
}

// Bindings may be absent at run time whatever the generated types say.
type Raw<T> = { [K in keyof T]?: T[K] | undefined }

function readAuth(env: Raw<Env>): Config['auth'] {
  const secret = env.BETTER_AUTH_SECRET || undefined
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) {
    return { error: `BETTER_AUTH_SECRET is shorter than ${MIN_SECRET_LENGTH} characters` }
  }

  const baseUrl = env.BETTER_AUTH_URL?.trim().replace(/\/+$/, '') || undefined
  const jwksUrl = env.JWKS_URL?.trim() || (baseUrl && `${baseUrl}/api/auth/jwks`)
  for (const [name, value] of [
    ['BETTER_AUTH_URL', baseUrl],
    ['JWKS_URL', jwksUrl],
  ] as const) {
    if (value !== undefined && !isTrustedUrl(value)) {
      return { error: `${name} must be an https:// URL (http:// only for localhost)` }
    }
  }
  if (secret === undefined && jwksUrl === undefined) {
    return { error: 'neither BETTER_AUTH_SECRET (shared-secret mode) nor BETTER_AUTH_URL (JWKS mode) is set' }
  }

  // Better Auth's JWT plugin sets iss and aud to its base URL; in JWKS mode both are always checked.
  const issuer = env.JWT_ISSUER?.trim() || (jwksUrl ? baseUrl : undefined)
  const audience = env.JWT_AUDIENCE?.trim() || (jwksUrl ? baseUrl : undefined)
  if (jwksUrl !== undefined && (issuer === undefined || audience === undefined)) {
    return { error: 'JWKS mode needs BETTER_AUTH_URL, or both JWT_ISSUER and JWT_AUDIENCE' }
  }

  const skewText = env.JWT_CLOCK_SKEW_SECONDS?.trim() || String(DEFAULT_CLOCK_SKEW_SECONDS)
  const clockSkewSeconds = Number(skewText)
  if (!/^\d+$/.test(skewText) || clockSkewSeconds > MAX_CLOCK_SKEW_SECONDS) {
    return { error: `JWT_CLOCK_SKEW_SECONDS must be a whole number from 0 to ${MAX_CLOCK_SKEW_SECONDS}` }
  }
  return { secret, jwksUrl, issuer, audience, clockSkewSeconds }
}

function readOAuth(env: Raw<Env>, auth: Config['auth']): Config['oauth'] {
  const mcpResource = env.MCP_RESOURCE_URL?.trim() || undefined
  const apiResource = env.API_RESOURCE_URL?.trim() || undefined
  const explicitIssuer = env.OAUTH_ISSUER?.trim() || undefined
  for (const [name, value] of [
    ['MCP_RESOURCE_URL', mcpResource],
    ['API_RESOURCE_URL', apiResource],
    ['OAUTH_ISSUER', explicitIssuer],
  ] as const) {
    // A resource is compared exactly (RFC 8707): no fragment, no query.
    if (value !== undefined && (!isTrustedUrl(value) || /[?#]/.test(value))) {
      return { error: `${name} must be an https:// URL without query or fragment (http:// only for localhost)` }
    }
  }
  // What is wrong with BETTER_AUTH_URL or JWKS_URL is reported once, as the auth configuration's error.
  const baseUrl = 'error' in auth ? undefined : env.BETTER_AUTH_URL?.trim().replace(/\/+$/, '') || undefined
  // Better Auth's OAuth provider names itself by its API's base path, not by the site's URL.
  const issuer = explicitIssuer ?? (baseUrl && `${baseUrl}/api/auth`)
  if (!('error' in auth) && auth.jwksUrl !== undefined && (mcpResource || apiResource) && issuer === undefined) {
    return { error: 'access tokens need an issuer to check: set OAUTH_ISSUER (or BETTER_AUTH_URL)' }
  }
  if (mcpResource !== undefined && new URL(mcpResource).pathname !== '/mcp') {
    return { error: "MCP_RESOURCE_URL must be this worker's /mcp URL, e.g. https://tasks.example.com/mcp" }
  }
  const mcpMetadataUrl = mcpResource && `${new URL(mcpResource).origin}/.well-known/oauth-protected-resource/mcp`
  return { mcpResource, mcpMetadataUrl, apiResource, issuer }
}

function readLimits(env: Raw<Env>): Config['limits'] {
  const perUser = env.USER_RATE_LIMITER
  const perRefusedIp = env.AUTH_FAILURE_RATE_LIMITER
  if (!perUser) return { error: 'the USER_RATE_LIMITER binding ([[ratelimits]] in wrangler.toml) is missing' }
  if (!perRefusedIp)
    return { error: 'the AUTH_FAILURE_RATE_LIMITER binding ([[ratelimits]] in wrangler.toml) is missing' }
  const text = env.TASK_QUOTA?.trim() || String(TASK_QUOTA.default)
  const taskQuota = Number(text)
  if (!/^\d+$/.test(text) || taskQuota < 1 || taskQuota > TASK_QUOTA.max) {
    return { error: `TASK_QUOTA must be a whole number from 1 to ${TASK_QUOTA.max}` }
  }
  const bounds = {} as Record<(typeof STORAGE_BOUNDS)[keyof typeof STORAGE_BOUNDS], number>
  for (const [name, field] of Object.entries(STORAGE_BOUNDS)) {
    const text = (env[name as keyof Env] as string | undefined)?.trim() || String(taskQuota)
    const value = Number(text)
    if (!/^\d+$/.test(text) || value < 1 || value > TASK_QUOTA.max) {
      return { error: `${name} must be a whole number from 1 to ${TASK_QUOTA.max}, or empty for TASK_QUOTA` }
    }
    bounds[field] = value
  }
  return { taskQuota, perUser, perRefusedIp, ...bounds }
}

function readListFormat(env: Raw<Env>): Config['listFormat'] {
  const value = env.API_LIST_FORMAT?.trim() || 'array'
  return (LIST_FORMATS as readonly string[]).includes(value)
    ? (value as ListFormat)
    : { error: `API_LIST_FORMAT must be one of ${LIST_FORMATS.join(', ')}` }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Keys fetched over plain HTTP could be swapped in transit: https only, except on this machine. */
export function isTrustedUrl(value: string): boolean {
  if (!URL.canParse(value)) return false
  const url = new URL(value)
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))
}

function readOrigins(raw: string | undefined): Config['corsOrigins'] {
  const entries = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (entries.includes('*')) return '*'
  const origins = new Set<string>()
  for (const entry of entries) {
    // An Origin header is scheme://host[:port] exactly; anything else could never match, so say so.
    if (URL.canParse(entry) && new URL(entry).origin === entry) origins.add(entry)
    else console.warn(JSON.stringify({ level: 'warn', message: 'ignoring invalid CORS_ORIGINS entry', entry }))
  }
  return origins
}

/** A share from 0 to 1. Anything else logs every request: a typo must not silence the logs. */
function readSampleRate(raw: string | undefined): number {
  const text = raw?.trim() || '1'
  const rate = Number(text)
  if (/^(0|1|0?\.\d+|1\.0*)$/.test(text) && rate >= 0 && rate <= 1) return rate
  console.warn(
    JSON.stringify({ level: 'warn', message: 'invalid REQUEST_LOG_SAMPLE_RATE; logging every request', value: raw }),
  )
  return 1
}
