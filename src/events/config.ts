/**
 * The event log's settings (docs/events.md), read once per `env` object: retention, the bound per
 * user, and the webhook. A bad value is an error the hourly purge and the queue consumer report
 * (logged once per isolate); task writes never depend on it, and events are always logged.
 */
import { getConfig } from '../config'

export interface Webhook {
  /** WEBHOOK_URL: the operator's endpoint, https:// (http:// only on loopback). */
  url: string
  /** The HMAC-SHA256 key: WEBHOOK_SECRET after `whsec_`, base64-decoded. */
  key: Uint8Array
}

export interface EventsConfig {
  /** EVENT_RETENTION_DAYS: events older than this are purged. */
  retentionDays: number | { error: string }
  /** EVENTS_PER_USER: the newest this many are kept per user (10 x TASK_QUOTA by default). */
  perUser: number | { error: string }
  /** Unset WEBHOOK_URL: no delivery. Set, every event is for delivery, even while the rest is wrong. */
  webhook: 'off' | Webhook | { error: string }
}

export const EVENT_DEFAULTS = { retentionDays: 90, maxRetentionDays: 3650, quotaMultiple: 10, maxPerUser: 10_000_000 }
const FALLBACK_QUOTA = 10_000
// Standard Webhooks: a secret of 24 to 64 random bytes.
const SECRET_BYTES = { min: 24, max: 64 }

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

type EventsEnv = Partial<
  Record<'EVENT_RETENTION_DAYS' | 'EVENTS_PER_USER' | 'WEBHOOK_URL' | 'WEBHOOK_SECRET' | 'TASK_QUOTA', string>
>

const cache = new WeakMap<object, EventsConfig>()

/** The settings for this env (any may be unset). */
export function eventsConfig(bindings: Env): EventsConfig {
  let config = cache.get(bindings)
  if (!config) {
    const env = bindings as EventsEnv
    const { limits } = getConfig(bindings)
    const quota = 'error' in limits ? FALLBACK_QUOTA : limits.taskQuota
    config = {
      retentionDays: whole(env.EVENT_RETENTION_DAYS, 'EVENT_RETENTION_DAYS', EVENT_DEFAULTS.retentionDays, {
        max: EVENT_DEFAULTS.maxRetentionDays,
      }),
      perUser: whole(env.EVENTS_PER_USER, 'EVENTS_PER_USER', quota * EVENT_DEFAULTS.quotaMultiple, {
        max: EVENT_DEFAULTS.maxPerUser,
      }),
      webhook: readWebhook(env.WEBHOOK_URL, env.WEBHOOK_SECRET),
    }
    for (const part of Object.values(config)) {
      if (typeof part === 'object' && 'error' in part) {
        console.error(JSON.stringify({ level: 'error', message: 'events misconfigured', reason: part.error }))
      }
    }
    cache.set(bindings, config)
  }
  return config
}

/** Whether a change's event is for delivery: WEBHOOK_URL is set. */
export const delivering = (env: Env): boolean => eventsConfig(env).webhook !== 'off'

function whole(raw: string | undefined, name: string, fallback: number, { max }: { max: number }) {
  const text = raw?.trim() || String(fallback)
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    return { error: `${name} must be a whole number from 1 to ${max}, or empty for the default` }
  }
  return value
}

function readWebhook(rawUrl: string | undefined, rawSecret: string | undefined): EventsConfig['webhook'] {
  const url = rawUrl?.trim() ?? ''
  if (url === '') return 'off'
  if (!URL.canParse(url)) return { error: 'WEBHOOK_URL is not a URL' }
  const parsed = new URL(url)
  const local = parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname)
  if (parsed.protocol !== 'https:' && !local) {
    return { error: 'WEBHOOK_URL must be an https:// URL (http:// only for localhost)' }
  }
  if (parsed.username !== '' || parsed.password !== '') return { error: 'WEBHOOK_URL must not carry credentials' }
  const secret = rawSecret?.trim() ?? ''
  const key = secret.startsWith('whsec_') ? fromBase64(secret.slice('whsec_'.length)) : undefined
  if (key === undefined || key.length < SECRET_BYTES.min || key.length > SECRET_BYTES.max) {
    return {
      error: `WEBHOOK_SECRET must be whsec_ and ${SECRET_BYTES.min} to ${SECRET_BYTES.max} bytes in base64 when WEBHOOK_URL is set`,
    }
  }
  return { url: parsed.href, key }
}

function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
  } catch {
    return undefined
  }
}
