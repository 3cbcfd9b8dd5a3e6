/**
 * The application server's VAPID identity (RFC 8292): VAPID_PRIVATE_KEY, a Worker secret holding the
 * P-256 key pair as a JWK (`npm run vapid-keys` prints one), and VAPID_SUBJECT, a var with a contact
 * URI. Without both, push is off and only in-app reminders work.
 */
import type { VapidKeys } from '@block65/webcrypto-web-push'

/** The application server key for `pushManager.subscribe`: the uncompressed public point, base64url. */
export type ApplicationServerKey = string

export type PushSetting = { vapid: VapidKeys } | { off: string }

const b64url = /^[A-Za-z0-9_-]+$/
const decodedLength = (text: string) => Math.floor((text.length * 3) / 4)

/** Reads the VAPID settings; never throws: what is missing or wrong is the `off` reason. */
export function readVapid(privateKey: string | undefined, subject: string | undefined): PushSetting {
  if (!privateKey?.trim() && !subject?.trim()) return { off: 'VAPID_PRIVATE_KEY and VAPID_SUBJECT are not set' }
  if (!privateKey?.trim()) return { off: 'VAPID_PRIVATE_KEY is not set' }
  const contact = subject?.trim() ?? ''
  // RFC 8292 2.1: a mailto: or https: URI the push service can reach the operator at.
  if (!/^(mailto:\S+@\S+|https:\/\/\S+)$/.test(contact)) return { off: 'VAPID_SUBJECT must be a mailto: or https: URI' }
  let jwk: Record<string, unknown>
  try {
    jwk = JSON.parse(privateKey)
  } catch {
    return { off: 'VAPID_PRIVATE_KEY must be the JWK `npm run vapid-keys` prints' }
  }
  const { kty, crv, x, y, d } = jwk
  const coordinate = (value: unknown): value is string =>
    typeof value === 'string' && b64url.test(value) && decodedLength(value) === 32
  if (kty !== 'EC' || crv !== 'P-256' || !coordinate(x) || !coordinate(y) || !coordinate(d)) {
    return { off: 'VAPID_PRIVATE_KEY must be a P-256 JWK with x, y and d' }
  }
  return { vapid: { subject: contact, privateKey: d, publicKey: publicKeyFromJwk(x, y) } }
}

const fromB64url = (text: string) =>
  Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
const toB64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

/** The SEC 1 uncompressed point (0x04 || x || y) browsers take as `applicationServerKey`. */
function publicKeyFromJwk(x: string, y: string): ApplicationServerKey {
  return toB64url(new Uint8Array([4, ...fromB64url(x), ...fromB64url(y)]))
}
