/**
 * Reads and validates configuration once per `env` object. Anything wrong with authentication
 * settings makes `auth` an error: protected routes then fail closed with 500 and accept nothing.
 */

export const MIN_SECRET_LENGTH = 32
export const DEFAULT_CLOCK_SKEW_SECONDS = 60
const MAX_CLOCK_SKEW_SECONDS = 300

export interface AuthConfig {
  secret: string
  issuer: string | undefined
  audience: string | undefined
  clockSkewSeconds: number
}

export interface Config {
  auth: AuthConfig | { error: string }
  /** Exact origins allowed by CORS, or '*' for any. */
  corsOrigins: ReadonlySet<string> | '*'
}

const cache = new WeakMap<object, Config>()

export function getConfig(env: Env): Config {
  let config = cache.get(env)
  if (!config) {
    config = { auth: readAuth(env), corsOrigins: readOrigins(env.CORS_ORIGINS) }
    if ('error' in config.auth) {
      // Once per isolate and configuration, not once per request.
      console.error(JSON.stringify({ level: 'error', message: 'server misconfigured', reason: config.auth.error }))
    }
    cache.set(env, config)
  }
  return config
}

// Bindings may be absent at run time whatever the generated types say.
type Raw<T> = { [K in keyof T]?: T[K] | undefined }

function readAuth(env: Raw<Env>): Config['auth'] {
  const secret = env.BETTER_AUTH_SECRET
  if (!secret) return { error: 'BETTER_AUTH_SECRET is not set' }
  if (secret.length < MIN_SECRET_LENGTH) {
    return { error: `BETTER_AUTH_SECRET is shorter than ${MIN_SECRET_LENGTH} characters` }
  }
  const skewText = env.JWT_CLOCK_SKEW_SECONDS?.trim() || String(DEFAULT_CLOCK_SKEW_SECONDS)
  const clockSkewSeconds = Number(skewText)
  if (!/^\d+$/.test(skewText) || clockSkewSeconds > MAX_CLOCK_SKEW_SECONDS) {
    return { error: `JWT_CLOCK_SKEW_SECONDS must be a whole number from 0 to ${MAX_CLOCK_SKEW_SECONDS}` }
  }
  return {
    secret,
    issuer: env.JWT_ISSUER?.trim() || undefined,
    audience: env.JWT_AUDIENCE?.trim() || undefined,
    clockSkewSeconds,
  }
}

function readOrigins(raw: string | undefined): Config['corsOrigins'] {
  const entries = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  if (entries.includes('*')) return '*'
  const origins = new Set<string>()
  for (const entry of entries) {
    // An Origin header is scheme://host[:port] exactly; anything else could never match, so say so.
    if (URL.canParse(entry) && new URL(entry).origin === entry) origins.add(entry)
    else console.warn(JSON.stringify({ level: 'warn', message: 'ignoring invalid CORS_ORIGINS entry', entry }))
  }
  return origins
}
