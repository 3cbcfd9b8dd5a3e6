/**
 * The event log's settings (docs/events.md), read once per `env` object: retention, the bound per
 * user, and the webhook. A bad value is an error the hourly purge and the queue consumer report
 * (logged once per isolate); task writes never depend on it, and events are always logged.
 */
import { eventSettings, getConfig } from '../config'

export interface Webhook {
  /** WEBHOOK_URL: the operator's endpoint, https:// (http:// only on loopback). */
  url: string
  /** The HMAC-SHA256 key: WEBHOOK_SECRET after `whsec_`, base64-decoded. */
  key: Uint8Array
}

export interface EventsConfig {
  /** EVENT_RETENTION_DAYS: events older than this are purged. */
  retentionDays: number | { error: string }
  /** EVENTS_PER_USER: the newest this many are kept per user (QUOTA_MULTIPLE x TASK_QUOTA by default). */
  perUser: number | { error: string }
  /** Unset WEBHOOK_URL: no delivery. Set, every event is for delivery, even while the rest is wrong. */
  webhook: 'off' | Webhook | { error: string }
}

/** EVENTS_PER_USER's default, as a multiple of TASK_QUOTA: a history of every task, and as much again. */
export const QUOTA_MULTIPLE = 2
const FALLBACK_QUOTA = 10_000
// Standard Webhooks: a secret of 24 to 64 random bytes.
const SECRET_BYTES = { min: 24, max: 64 }

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

const cache = new WeakMap<object, EventsConfig>()

/** The settings for this env (any may be unset), from the configuration schema (src/config.ts). */
export function eventsConfig(bindings: Env): EventsConfig {
  let config = cache.get(bindings)
  if (!config) {
    const settings = eventSettings(bindings)
    const { limits } = getConfig(bindings)
    const quota = 'error' in limits ? FALLBACK_QUOTA : limits.taskQuota
    config =
      'error' in settings
        ? { retentionDays: settings, perUser: settings, webhook: settings }
        : {
            retentionDays: settings.EVENT_RETENTION_DAYS,
            perUser: settings.EVENTS_PER_USER ?? quota * QUOTA_MULTIPLE,
            webhook: readWebhook(settings.WEBHOOK_URL, settings.WEBHOOK_SECRET),
          }
    for (const part of new Set(Object.values(config))) {
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
