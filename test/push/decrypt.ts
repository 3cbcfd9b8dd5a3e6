/**
 * The browser's side of Web Push, for tests: a subscription's keys, decryption of an aes128gcm
 * message (RFC 8291 3.4 on Web Crypto's HKDF, independently of the library the worker sends with),
 * and verification of the VAPID header (RFC 8292) a push service would check.
 */
import { base64url, decodeJwtPart, fromBase64url } from '../helpers'

export interface BrowserSubscription {
  /** What the browser's PushSubscription.toJSON() gives the application. */
  json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } }
  privateKey: CryptoKey
}

/** A fresh subscription to `endpoint`, with the key pair and auth secret a browser would make. */
export async function browserSubscription(endpoint: string): Promise<BrowserSubscription> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, [
    'deriveBits',
  ])) as CryptoKeyPair
  const publicKey = await crypto.subtle.exportKey('raw', pair.publicKey)
  const auth = crypto.getRandomValues(new Uint8Array(16))
  return {
    json: {
      endpoint,
      expirationTime: null,
      keys: { p256dh: base64url(publicKey as ArrayBuffer), auth: base64url(auth) },
    },
    privateKey: pair.privateKey,
  }
}

const text = (s: string) => new TextEncoder().encode(s)
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

async function hkdf(salt: Uint8Array, ikm: ArrayBuffer | Uint8Array, info: Uint8Array, bytes: number) {
  const key = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits'])
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, key, bytes * 8))
}

/** Decrypts a single-record aes128gcm body with the subscription's private key and auth secret. */
export async function decryptPush(
  body: Uint8Array,
  { privateKey, keys }: { privateKey: CryptoKey; keys: { p256dh: string; auth: string } },
): Promise<Uint8Array> {
  // RFC 8188 2.1 header: salt (16), record size (4), key id length (1), key id (the sender's public key).
  const salt = body.slice(0, 16)
  const recordSize = new DataView(body.buffer, body.byteOffset + 16, 4).getUint32(0)
  const idLength = body[20]!
  const senderKey = body.slice(21, 21 + idLength)
  const record = body.slice(21 + idLength)
  if (record.length > recordSize) throw new Error('more than one record')

  const sender = await crypto.subtle.importKey('raw', senderKey, { name: 'ECDH', namedCurve: 'P-256' }, false, [])
  const shared = await crypto.subtle.deriveBits(
    // Web Crypto names the member `public`; workerd's types spell it `$public`.
    { name: 'ECDH', public: sender } as unknown as SubtleCryptoDeriveKeyAlgorithm,
    privateKey,
    256,
  )
  const ikm = await hkdf(
    fromBase64url(keys.auth),
    shared,
    concat(text('WebPush: info\0'), fromBase64url(keys.p256dh), senderKey),
    32,
  )
  const cek = await hkdf(salt, ikm, text('Content-Encoding: aes128gcm\0'), 16)
  const nonce = await hkdf(salt, ikm, text('Content-Encoding: nonce\0'), 12)
  const key = await crypto.subtle.importKey('raw', cek, 'AES-GCM', false, ['decrypt'])
  const padded = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce }, key, record))
  // The last record ends with 0x02, then zero or more 0x00 of padding (RFC 8188 2).
  let end = padded.length - 1
  while (end >= 0 && padded[end] === 0) end--
  if (padded[end] !== 2) throw new Error('no last-record delimiter')
  return padded.slice(0, end)
}

/** Verifies `Authorization: vapid t=…, k=…` as a push service does and returns the JWT's claims and key. */
export async function verifyVapid(
  authorization: string | null,
): Promise<{ claims: Record<string, unknown>; key: string }> {
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(authorization ?? '')
  if (!m) throw new Error(`not a VAPID authorization: ${authorization}`)
  const [, token, key] = m as unknown as [string, string, string]
  const [header, payload, signature] = token.split('.') as [string, string, string]
  if (decodeJwtPart(token, 0).alg !== 'ES256') throw new Error('VAPID tokens are ES256')
  const publicKey = await crypto.subtle.importKey(
    'raw',
    fromBase64url(key),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  )
  const valid = await crypto.subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    publicKey,
    fromBase64url(signature),
    text(`${header}.${payload}`),
  )
  if (!valid) throw new Error('VAPID signature does not verify')
  return { claims: decodeJwtPart(token, 1), key }
}
