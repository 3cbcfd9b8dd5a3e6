/**
 * One webhook delivery, as Standard Webhooks (standardwebhooks.com) specifies it: the event as JSON,
 * signed with HMAC-SHA256 over `id.timestamp.body`, POSTed to the operator's WEBHOOK_URL only.
 */
import { toApiTask } from '../compat/task'
import type { Webhook } from './config'
import { type EventRow, toEvent } from './model'

/** How long one delivery may take before it counts as failed. */
const SEND_TIMEOUT_MS = 10_000

/** The body: `type`, `timestamp` and `data` with the fields of the FastAPI family's task events. */
export function payload(row: EventRow): string {
  const event = toEvent(row)
  return JSON.stringify({
    type: event.type,
    timestamp: event.createdAt,
    data: {
      event_type: event.type.slice('task.'.length),
      task_id: event.taskId,
      task_number: event.taskNumber,
      task_data: toApiTask(event.task, row.user_id),
      user_id: row.user_id,
      timestamp: event.createdAt,
    },
  })
}

const encoder = new TextEncoder()

// The secret's signing key, imported once per configuration (the config holds one key's bytes).
const signingKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>()

const signingKey = (key: Uint8Array) => {
  let imported = signingKeys.get(key)
  if (!imported) {
    imported = crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    signingKeys.set(key, imported)
  }
  return imported
}

/** `v1,` and the base64 HMAC-SHA256, keyed with the secret's bytes, of `id.timestamp.body`. */
export async function signature(key: Uint8Array, id: string, timestamp: number, body: string): Promise<string> {
  const hmac = await signingKey(key)
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', hmac, encoder.encode(`${id}.${timestamp}.${body}`)))
  return `v1,${btoa(String.fromCharCode(...mac))}`
}

/** What one delivery came to; a refusal carries the endpoint's Retry-After header, if it sent one. */
export type Sent = { delivered: true } | { delivered: false; retryAfter: string | null }

/**
 * POSTs the event: delivered when the endpoint answered 2xx. A redirect is not followed (it is not a
 * 2xx), so the event only ever goes to WEBHOOK_URL itself. Never throws: a network failure or a
 * timeout is a failed attempt like any other, retried later.
 */
export async function send(webhook: Webhook, row: EventRow, now = Date.now()): Promise<Sent> {
  const body = payload(row)
  const timestamp = Math.floor(now / 1000)
  try {
    const res = await fetch(webhook.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      headers: {
        'Content-Type': 'application/json',
        'webhook-id': row.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': await signature(webhook.key, row.id, timestamp, body),
      },
      body,
    })
    // The body is not needed: release the connection.
    await res.body?.cancel()
    return res.status >= 200 && res.status < 300
      ? { delivered: true }
      : { delivered: false, retryAfter: res.headers.get('Retry-After') }
  } catch {
    return { delivered: false, retryAfter: null }
  }
}
