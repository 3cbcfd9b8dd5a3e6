/**
 * RFC 8291 section 5 (and Appendix A): the worker's encryption, with the example's keys and salt,
 * must produce the example's message byte for byte, and the test decryptor must read it back.
 */
import { encryptNotification } from '@block65/webcrypto-web-push'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { base64url, fromBase64url } from '../helpers'
import { decryptPush } from './decrypt'

const PLAINTEXT = 'When I grow up, I want to be a watermelon'
const AS_PUBLIC = 'BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8'
const AS_PRIVATE = 'yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw'
const UA_PUBLIC = 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4'
const UA_PRIVATE = 'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94'
const AUTH_SECRET = 'BTBZMqHH6r4Tts7J_aSIgg'
const SALT = 'DGv6ra1nlYgDCS1FRnbzlw'
const MESSAGE =
  'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml' +
  'mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT' +
  'pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN'

/** An ECDH private key from the example's raw public point and private scalar. */
function importPrivate(publicPoint: string, d: string) {
  const point = fromBase64url(publicPoint)
  return crypto.subtle.importKey(
    'jwk',
    { kty: 'EC', crv: 'P-256', x: base64url(point.slice(1, 33)), y: base64url(point.slice(33)), d },
    { name: 'ECDH', namedCurve: 'P-256' },
    false,
    ['deriveBits'],
  )
}

const subscription = {
  endpoint: 'https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV',
  expirationTime: null,
  keys: { p256dh: UA_PUBLIC, auth: AUTH_SECRET },
}

afterEach(() => vi.restoreAllMocks())

describe('RFC 8291 example', () => {
  it('encrypts the example plaintext to the example message with its keys and salt', async () => {
    const serverKeys = {
      privateKey: await importPrivate(AS_PUBLIC, AS_PRIVATE),
      publicKey: await crypto.subtle.importKey(
        'raw',
        fromBase64url(AS_PUBLIC),
        { name: 'ECDH', namedCurve: 'P-256' },
        true,
        [],
      ),
    }
    // The example's ephemeral key pair and salt, where the library would draw random ones.
    vi.spyOn(crypto.subtle, 'generateKey').mockResolvedValue(serverKeys as CryptoKeyPair)
    vi.spyOn(crypto, 'getRandomValues').mockImplementation(((array: Uint8Array) => {
      array.set(fromBase64url(SALT))
      return array
    }) as typeof crypto.getRandomValues)
    // The example adds no padding beyond the delimiter.
    const body = await encryptNotification(subscription, new TextEncoder().encode(PLAINTEXT), { pad: false })
    expect(base64url(body)).toBe(MESSAGE)
  })

  it('decrypts the example message with the user agent private key', async () => {
    const privateKey = await importPrivate(UA_PUBLIC, UA_PRIVATE)
    const plaintext = await decryptPush(fromBase64url(MESSAGE), { privateKey, keys: subscription.keys })
    expect(new TextDecoder().decode(plaintext)).toBe(PLAINTEXT)
  })

  it('refuses a message whose ciphertext was altered', async () => {
    const privateKey = await importPrivate(UA_PUBLIC, UA_PRIVATE)
    const tampered = fromBase64url(MESSAGE)
    tampered[tampered.length - 20]! ^= 1
    await expect(decryptPush(tampered, { privateKey, keys: subscription.keys })).rejects.toThrow()
  })
})
