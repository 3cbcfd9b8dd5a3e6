/**
 * Sends one Web Push message (RFC 8030), encrypted for the subscription (RFC 8291, aes128gcm) and
 * signed with the server's VAPID key (RFC 8292), by @block65/webcrypto-web-push on Web Crypto.
 */
import { buildPushPayload, type VapidKeys } from '@block65/webcrypto-web-push'

/** A browser's `PushSubscription.toJSON()`, as stored. */
export interface Subscription {
  endpoint: string
  keys: { p256dh: string; auth: string }
}

/**
 * - `sent`: the push service accepted it (201).
 * - `gone`: the subscription expired or was unsubscribed (404, 410): delete it.
 * - `retry`: the push service is overloaded or failing (429, 5xx, no answer): try again later.
 * - `refused`: the push service will never take this message (another 4xx): give up, and log it.
 */
export type Outcome = 'sent' | 'gone' | 'retry' | 'refused'

export interface SendOptions {
  /** Seconds the push service may hold the message while the device is offline (RFC 8030 5.2). */
  ttl: number
  urgency: 'very-low' | 'low' | 'normal' | 'high'
}

/**
 * Encrypts `payload` (as JSON) for `subscription` and posts it to its endpoint; never throws. The
 * caller has checked the endpoint against the allow-list (src/push/endpoint.ts).
 */
export async function sendPush(
  subscription: Subscription,
  payload: unknown,
  vapid: VapidKeys,
  { ttl, urgency }: SendOptions,
): Promise<{ outcome: Outcome; status: number }> {
  let response: Response
  try {
    const message = await buildPushPayload(
      { data: JSON.stringify(payload), options: { ttl } },
      { ...subscription, expirationTime: null },
      vapid,
    )
    response = await fetch(subscription.endpoint, {
      method: 'POST',
      // The library knows 'low' | 'normal' | 'high'; RFC 8030 5.3 also has 'very-low'.
      headers: { ...message.headers, urgency },
      body: message.body,
      // A push service answers; it never sends the worker on to another URL.
      redirect: 'manual',
    })
  } catch {
    // No answer (or keys the library cannot use, which subscribing refuses): a later run tries again.
    return { outcome: 'retry', status: 0 }
  }
  // Nothing in the body is used; let the connection go.
  await response.body?.cancel()
  return { outcome: outcomeOf(response.status), status: response.status }
}

function outcomeOf(status: number): Outcome {
  if (status >= 200 && status < 300) return 'sent'
  if (status === 404 || status === 410) return 'gone'
  if (status === 429 || status >= 500) return 'retry'
  return 'refused'
}
