/**
 * Every setting the worker reads from its environment, in one zod schema: each one's kind, one-line
 * meaning and default are declared here and nowhere else (wrangler.toml states every var as "", the
 * default). The environment is parsed once per `env` object, one part at a time, so that a mistake
 * fails only its part: anything wrong with authentication makes `auth` an error, with the quota or
 * the rate-limit bindings `limits`, and so on; the HTTP layer (src/auth/, src/limits.ts) then
 * fails the routes that need that part closed with 500.
 *
 * A new setting is one line in its part below; test/config.test.ts then requires it in wrangler.toml
 * (`[vars]` and every `[env.*.vars]`), in README.md's table and, for a secret, in .dev.vars.example.
 */
import * as z from 'zod'
import { parsePushServiceHosts } from './push/endpoint'
import { type PushSetting, readVapid } from './push/vapid'

/** Where a setting comes from: `[vars]`, a Worker secret, or a binding block of wrangler.toml. */
export type SettingKind = 'var' | 'secret' | 'binding'

/** A setting's kind and meaning travel with its schema, in zod's registry (`schema.meta()`). */
const setting = <S extends z.ZodType>(kind: SettingKind, description: string, schema: S): S =>
  schema.meta({ kind, description })

/** The text of a setting, trimmed; blank is unset. Wrangler allows JSON vars, so anything else is read as text. */
const text = () =>
  z.unknown().transform((value) => (value === undefined || value === null ? '' : String(value)).trim() || undefined)

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Keys fetched over plain HTTP could be swapped in transit: https only, except on this machine. */
export function isTrustedUrl(value: string): boolean {
  const url = URL.parse(value)
  return url?.protocol === 'https:' || (url?.protocol === 'http:' && LOOPBACK.has(url.hostname))
}

const trustedUrl = (name: string, normalize = (value: string | undefined) => value) =>
  text()
    .transform(normalize)
    .refine((value) => value === undefined || isTrustedUrl(value), {
      error: `${name} must be an https:// URL (http:// only for localhost)`,
    })

/** A resource or issuer is compared exactly (RFC 8707): no fragment, no query. */
const exactUrl = (name: string) =>
  text().refine((value) => value === undefined || (isTrustedUrl(value) && !/[?#]/.test(value)), {
    error: `${name} must be an https:// URL without query or fragment (http:// only for localhost)`,
  })

const inRange = (value: string, min: number, max: number) =>
  /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max

/** A whole number from `min` to `max`; blank is `fallback`. */
const wholeNumber = (min: number, max: number, fallback: number, error: string) =>
  text()
    .transform((value) => value ?? String(fallback))
    .refine((value) => inRange(value, min, max), { error })
    .transform(Number)

/** A whole number from `min` to `max`, or blank: unset, for the part to decide. */
const optionalWholeNumber = (min: number, max: number, error: string) =>
  text()
    .refine((value) => value === undefined || inRange(value, min, max), { error })
    .transform((value) => (value === undefined ? undefined : Number(value)))

const binding = <T>(name: string) =>
  z.custom<T>((value) => Boolean(value), { error: `the ${name} binding ([[ratelimits]] in wrangler.toml) is missing` })

const MIN_SECRET_LENGTH = 32
const MAX_CLOCK_SKEW_SECONDS = 300
const TASK_QUOTA = { default: 10_000, max: 1_000_000 }
/** A Durable Object holds at most 32,768 WebSockets; one user's devices need a handful. */
const LIVE_SOCKETS_PER_USER = { default: 20, max: 1_000 }

/** How the /api routes (src/compat/) answer a list: a plain array, or `{ tasks, total }` (API_LIST_FORMAT). */
export type ListFormat = 'array' | 'object'
const LIST_FORMATS = ['array', 'object'] as const satisfies readonly ListFormat[]

/** The settings, by the part of the configuration each one feeds; the order is the order of the checks. */
const PARTS = {
  auth: z.object({
    BETTER_AUTH_SECRET: setting(
      'secret',
      'Shared-secret mode: the HS256 key shared with Better Auth, at least 32 characters.',
      // A secret is taken as it is: not trimmed.
      z
        .unknown()
        .transform((value) => (typeof value === 'string' && value !== '' ? value : undefined))
        .refine((value) => value === undefined || value.length >= MIN_SECRET_LENGTH, {
          error: `BETTER_AUTH_SECRET is shorter than ${MIN_SECRET_LENGTH} characters`,
        }),
    ),
    BETTER_AUTH_URL: setting(
      'var',
      "JWKS mode: Better Auth's base URL; keys come from <BETTER_AUTH_URL>/api/auth/jwks, iss and aud default to it.",
      trustedUrl('BETTER_AUTH_URL', (value) => value?.replace(/\/+$/, '') || undefined),
    ),
    JWKS_URL: setting(
      'var',
      'Where the key set is fetched from, instead of the one under BETTER_AUTH_URL.',
      trustedUrl('JWKS_URL'),
    ),
    JWT_ISSUER: setting('var', 'When set, every token must have exactly this iss.', text()),
    JWT_AUDIENCE: setting('var', "When set, every token's aud must be this value, or an array containing it.", text()),
    JWT_CLOCK_SKEW_SECONDS: setting(
      'var',
      'Clock difference tolerated on exp, nbf and iat, in seconds.',
      wholeNumber(
        0,
        MAX_CLOCK_SKEW_SECONDS,
        60,
        `JWT_CLOCK_SKEW_SECONDS must be a whole number from 0 to ${MAX_CLOCK_SKEW_SECONDS}`,
      ),
    ),
  }),
  oauth: z.object({
    MCP_RESOURCE_URL: setting(
      'var',
      "This worker's public /mcp URL: turns the MCP endpoint on; access tokens' aud must contain it.",
      exactUrl('MCP_RESOURCE_URL').refine((value) => value === undefined || URL.parse(value)?.pathname === '/mcp', {
        error: "MCP_RESOURCE_URL must be this worker's /mcp URL, e.g. https://tasks.example.com/mcp",
      }),
    ),
    API_RESOURCE_URL: setting(
      'var',
      'When set, the REST API also takes OAuth access tokens whose aud contains it, by scope.',
      exactUrl('API_RESOURCE_URL'),
    ),
    OAUTH_ISSUER: setting(
      'var',
      "The iss of OAuth access tokens; blank: Better Auth's default, <BETTER_AUTH_URL>/api/auth.",
      exactUrl('OAUTH_ISSUER'),
    ),
  }),
  limits: z.object({
    USER_RATE_LIMITER: setting(
      'binding',
      "Requests per user (the token's sub); its [[ratelimits]] entry is the limit in force.",
      binding<RateLimit>('USER_RATE_LIMITER'),
    ),
    AUTH_FAILURE_RATE_LIMITER: setting(
      'binding',
      'Refused (401) requests per client IP; its [[ratelimits]] entry is the limit in force.',
      binding<RateLimit>('AUTH_FAILURE_RATE_LIMITER'),
    ),
    TASK_QUOTA: setting(
      'var',
      'Most tasks one user may store.',
      wholeNumber(
        1,
        TASK_QUOTA.max,
        TASK_QUOTA.default,
        `TASK_QUOTA must be a whole number from 1 to ${TASK_QUOTA.max}`,
      ),
    ),
    // Storage bounds whose default is the task quota, so a user may hold as many of each as tasks and
    // the worst case per user stays a small multiple of what the quota already allows.
    IDEMPOTENCY_KEYS_PER_USER: setting(
      'var',
      'Most live Idempotency-Key records one user may hold; blank: TASK_QUOTA.',
      optionalWholeNumber(
        1,
        TASK_QUOTA.max,
        `IDEMPOTENCY_KEYS_PER_USER must be a whole number from 1 to ${TASK_QUOTA.max}, or empty for TASK_QUOTA`,
      ),
    ),
    TOMBSTONES_PER_USER: setting(
      'var',
      "Most deletions kept for one user's sync feed, past which the oldest go; blank: TASK_QUOTA.",
      optionalWholeNumber(
        1,
        TASK_QUOTA.max,
        `TOMBSTONES_PER_USER must be a whole number from 1 to ${TASK_QUOTA.max}, or empty for TASK_QUOTA`,
      ),
    ),
    LIVE_SOCKETS_PER_USER: setting(
      'var',
      'Most live-update WebSockets one user may hold open at once (docs/live.md).',
      wholeNumber(
        1,
        LIVE_SOCKETS_PER_USER.max,
        LIVE_SOCKETS_PER_USER.default,
        `LIVE_SOCKETS_PER_USER must be a whole number from 1 to ${LIVE_SOCKETS_PER_USER.max}`,
      ),
    ),
  }),
  listFormat: z.object({
    API_LIST_FORMAT: setting(
      'var',
      'How the /api routes answer a list: a plain array, or object for { tasks, total }.',
      text()
        .transform((value) => value ?? 'array')
        .pipe(z.enum(LIST_FORMATS, { error: `API_LIST_FORMAT must be one of ${LIST_FORMATS.join(', ')}` })),
    ),
  }),
  corsOrigins: z.object({
    CORS_ORIGINS: setting(
      'var',
      'Comma-separated origins browsers may call from, or * for any; blank: none.',
      text().transform(readOrigins),
    ),
  }),
  logSampleRate: z.object({
    REQUEST_LOG_SAMPLE_RATE: setting(
      'var',
      'Share (0 to 1) of successful requests that write the request log line; every other request writes it.',
      text().transform((value) => readSampleRate(value ?? '0.01')),
    ),
  }),
  events: z.object({
    EVENT_RETENTION_DAYS: setting(
      'var',
      'Days a task event is kept; the hourly job purges older ones.',
      wholeNumber(1, 3650, 90, 'EVENT_RETENTION_DAYS must be a whole number from 1 to 3650, or empty for the default'),
    ),
    EVENTS_PER_USER: setting(
      'var',
      'Most task events kept per user, the oldest purged first; blank: 2 x TASK_QUOTA.',
      optionalWholeNumber(
        1,
        10_000_000,
        'EVENTS_PER_USER must be a whole number from 1 to 10000000, or empty for the default',
      ),
    ),
    WEBHOOK_URL: setting(
      'var',
      'The endpoint every task event is POSTed to, signed (Standard Webhooks); blank: none is sent.',
      text(),
    ),
    WEBHOOK_SECRET: setting('secret', 'The webhook signing secret, whsec_ and 24 to 64 bytes in base64.', text()),
  }),
  // Read by src/chat/config.ts, which checks them together (chat is off until both are set).
  chat: z.object({
    CHAT_API_BASE_URL: setting(
      'var',
      'Any OpenAI-compatible Chat Completions endpoint (https://, http:// only for localhost); blank: chat is off.',
      text(),
    ),
    CHAT_MODEL: setting('var', 'The model the assistant calls; blank: chat is off.', text()),
    CHAT_API_KEY: setting('secret', 'Sent to the model endpoint as Authorization: Bearer; never logged.', text()),
    CHAT_MAX_MODEL_CALLS: setting('var', 'Model calls in one chat turn, 1 to 10; blank: 5.', text()),
    CHAT_TIMEOUT_SECONDS: setting('var', 'How long one model call may take, 1 to 120 seconds; blank: 30.', text()),
    CHAT_RATE_LIMITER: setting(
      'binding',
      'Chat turns per user; its [[ratelimits]] entry is the limit in force.',
      z.unknown(),
    ),
  }),
  push: z.object({
    VAPID_PRIVATE_KEY: setting('secret', 'The Web Push signing key (a JWK) that `npm run vapid-keys` prints.', text()),
    VAPID_SUBJECT: setting(
      'var',
      'A mailto: or https: contact the push services see; with the key, push is on.',
      text(),
    ),
    PUSH_SERVICE_HOSTS: setting(
      'var',
      "Hosts a push subscription's endpoint may be on (*. for subdomains); blank: the major browsers' services.",
      text().transform(parsePushServiceHosts),
    ),
  }),
}

/** Every setting, as one schema: the list test/config.test.ts holds wrangler.toml, .dev.vars.example and README.md to. */
export const envSchema = z.object(
  Object.assign({}, ...Object.values(PARTS).map((part) => part.shape)) as Record<string, z.ZodType>,
)

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

/**
 * Abuse limits: the create quota (src/tasks/routes.ts), the Workers Rate Limiting bindings behind
 * src/ratelimit.ts, whose limits live in wrangler.toml, and the per-user storage and socket bounds.
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
  /** Most live-update WebSockets one user may hold open at once (LIVE_SOCKETS_PER_USER). */
  liveSocketsPerUser: number
}

/**
 * Web Push: the VAPID identity, or why push is off, and the push service hosts. Push being off is
 * not an error: reminders still show in the app, and subscribing says why not.
 */
export interface PushConfig {
  setting: PushSetting
  hosts: string[]
}

type Failed = { error: string }

export interface Config {
  auth: AuthConfig | Failed
  oauth: OAuthConfig | Failed
  limits: Limits | Failed
  listFormat: ListFormat | Failed
  /** Exact origins allowed by CORS, or '*' for any. */
  corsOrigins: ReadonlySet<string> | '*'
  /** Share of successful requests that get a request log line (src/observability.ts), 0 to 1. */
  logSampleRate: number
}

const cache = new WeakMap<object, Config>()

export function getConfig(env: Env): Config {
  let config = cache.get(env)
  if (!config) {
    config = readConfig(env)
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

type Part = keyof typeof PARTS

/** The task events' settings, parsed by the schema, or the first thing wrong with them (src/events/config.ts). */
export const eventSettings = (env: Env) => parse(env, 'events')

/** One part's settings, or the first thing wrong with them. */
function parse<P extends Part>(env: object, part: P): z.output<(typeof PARTS)[P]> | Failed {
  // Every key present, so that an unset setting is parsed as undefined (its default), not skipped.
  const settings = Object.keys(PARTS[part].shape).map((name) => [name, (env as Record<string, unknown>)[name]])
  const result = PARTS[part].safeParse(Object.fromEntries(settings))
  return result.success
    ? (result.data as z.output<(typeof PARTS)[P]>)
    : { error: result.error.issues[0]?.message ?? `invalid ${part} settings` }
}

const failed = (value: object): value is Failed => 'error' in value

function readConfig(env: object): Config {
  const authSettings = parse(env, 'auth')
  const auth = failed(authSettings) ? authSettings : authConfig(authSettings)
  // What is wrong with BETTER_AUTH_URL or JWKS_URL is reported once, as the auth configuration's error.
  const baseUrl = failed(authSettings) || failed(auth) ? undefined : authSettings.BETTER_AUTH_URL
  const oauthSettings = parse(env, 'oauth')
  const limits = parse(env, 'limits')
  const listFormat = parse(env, 'listFormat')
  // These parts cannot fail: their schemas read anything as a safe setting (and warn).
  const { CORS_ORIGINS } = parse(env, 'corsOrigins') as z.output<(typeof PARTS)['corsOrigins']>
  const { REQUEST_LOG_SAMPLE_RATE } = parse(env, 'logSampleRate') as z.output<(typeof PARTS)['logSampleRate']>
  return {
    auth,
    oauth: failed(oauthSettings) ? oauthSettings : oauthConfig(oauthSettings, auth, baseUrl),
    limits: failed(limits)
      ? limits
      : {
          taskQuota: limits.TASK_QUOTA,
          perUser: limits.USER_RATE_LIMITER,
          perRefusedIp: limits.AUTH_FAILURE_RATE_LIMITER,
          idempotencyKeysPerUser: limits.IDEMPOTENCY_KEYS_PER_USER ?? limits.TASK_QUOTA,
          tombstonesPerUser: limits.TOMBSTONES_PER_USER ?? limits.TASK_QUOTA,
          liveSocketsPerUser: limits.LIVE_SOCKETS_PER_USER,
        },
    listFormat: failed(listFormat) ? listFormat : listFormat.API_LIST_FORMAT,
    corsOrigins: CORS_ORIGINS,
    logSampleRate: REQUEST_LOG_SAMPLE_RATE,
  }
}

const pushCache = new WeakMap<object, PushConfig>()

/**
 * Push settings, for the push routes and the reminders job (which has no other settings to read).
 * Why push is off is logged once per `env`, where push is used, not by every request's configuration.
 */
export function pushConfig(env: object): PushConfig {
  let config = pushCache.get(env)
  if (!config) {
    const push = parse(env, 'push') as z.output<(typeof PARTS)['push']>
    config = { setting: readVapid(push.VAPID_PRIVATE_KEY, push.VAPID_SUBJECT), hosts: push.PUSH_SERVICE_HOSTS }
    if ('off' in config.setting) {
      console.warn(JSON.stringify({ level: 'warn', message: 'web push is off', reason: config.setting.off }))
    }
    pushCache.set(env, config)
  }
  return config
}

function authConfig(settings: z.output<(typeof PARTS)['auth']>): Config['auth'] {
  const { BETTER_AUTH_SECRET: secret, BETTER_AUTH_URL: baseUrl } = settings
  const jwksUrl = settings.JWKS_URL ?? (baseUrl && `${baseUrl}/api/auth/jwks`)
  if (secret === undefined && jwksUrl === undefined) {
    return { error: 'neither BETTER_AUTH_SECRET (shared-secret mode) nor BETTER_AUTH_URL (JWKS mode) is set' }
  }
  // Better Auth's JWT plugin sets iss and aud to its base URL; in JWKS mode both are always checked.
  const issuer = settings.JWT_ISSUER ?? (jwksUrl ? baseUrl : undefined)
  const audience = settings.JWT_AUDIENCE ?? (jwksUrl ? baseUrl : undefined)
  if (jwksUrl !== undefined && (issuer === undefined || audience === undefined)) {
    return { error: 'JWKS mode needs BETTER_AUTH_URL, or both JWT_ISSUER and JWT_AUDIENCE' }
  }
  return { secret, jwksUrl, issuer, audience, clockSkewSeconds: settings.JWT_CLOCK_SKEW_SECONDS }
}

function oauthConfig(
  settings: z.output<(typeof PARTS)['oauth']>,
  auth: Config['auth'],
  baseUrl: string | undefined,
): Config['oauth'] {
  const { MCP_RESOURCE_URL: mcpResource, API_RESOURCE_URL: apiResource } = settings
  // Better Auth's OAuth provider names itself by its API's base path, not by the site's URL.
  const issuer = settings.OAUTH_ISSUER ?? (baseUrl && `${baseUrl}/api/auth`)
  if (!failed(auth) && auth.jwksUrl !== undefined && (mcpResource || apiResource) && issuer === undefined) {
    return { error: 'access tokens need an issuer to check: set OAUTH_ISSUER (or BETTER_AUTH_URL)' }
  }
  // A token whose aud names a resource is an access token (src/auth/classify.ts): were the session
  // tokens' own audience a resource, every session token would be refused as one.
  const sessionAudience = failed(auth) ? undefined : auth.audience
  for (const [name, value] of [
    ['MCP_RESOURCE_URL', mcpResource],
    ['API_RESOURCE_URL', apiResource],
  ] as const) {
    if (value !== undefined && value === sessionAudience) {
      return { error: `${name} must differ from the audience of session tokens (JWT_AUDIENCE, or BETTER_AUTH_URL)` }
    }
  }
  const mcpMetadataUrl = mcpResource && `${new URL(mcpResource).origin}/.well-known/oauth-protected-resource/mcp`
  return { mcpResource, mcpMetadataUrl, apiResource, issuer }
}

function readOrigins(raw: string | undefined): ReadonlySet<string> | '*' {
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
function readSampleRate(text: string): number {
  const rate = Number(text)
  if (/^(0|1|0?\.\d+|1\.0*)$/.test(text) && rate >= 0 && rate <= 1) return rate
  console.warn(
    JSON.stringify({ level: 'warn', message: 'invalid REQUEST_LOG_SAMPLE_RATE; logging every request', value: text }),
  )
  return 1
}
