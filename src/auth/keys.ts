/**
 * The one cache of verification keys, per isolate: the HMAC key imported from BETTER_AUTH_SECRET,
 * and the key set (key-set.ts) of each JWKS URL. A key is imported once, not per request, and kept
 * by what it is made from rather than by the env object, so every configuration with the same
 * secret or URL shares it. Session and access tokens alike take their keys from here.
 */
import { serviceUnavailable } from '../problem'
import { type AsymmetricAlg, KeySet, KeySetUnavailable } from './key-set'

/** The shared secret's one key. */
class SecretKey {
  readonly key: Promise<CryptoKey>

  constructor(secret: string) {
    // A CryptoKey, not the string: hono would take a secret that happens to contain "PUBLIC" or
    // "PRIVATE" for a PEM key.
    this.key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    )
  }
}

/** Keyed by where the keys come from: `secret <BETTER_AUTH_SECRET>` or `jwks <JWKS_URL>`. */
const cache = new Map<string, SecretKey | KeySet>()

/** The HMAC-SHA-256 key for HS256 tokens. */
export function secretKey(secret: string): Promise<CryptoKey> {
  const id = `secret ${secret}`
  let source = cache.get(id)
  if (!(source instanceof SecretKey)) {
    source = new SecretKey(secret)
    cache.set(id, source)
    // A failed import is tried again by the next request, not remembered.
    source.key.catch(() => cache.delete(id))
  }
  return source.key
}

/** The key set published at `url`. */
export function keySetFor(url: string): KeySet {
  const id = `jwks ${url}`
  let source = cache.get(id)
  if (!(source instanceof KeySet)) {
    source = new KeySet(url)
    cache.set(id, source)
  }
  return source
}

/**
 * The key the identity provider publishes at `url` for `kid`, of the type `alg` requires; null
 * when there is none, 503 when no key set could be fetched at all.
 */
export async function publishedKey(url: string, kid: string, alg: AsymmetricAlg): Promise<CryptoKey | null> {
  try {
    return await keySetFor(url).key(kid, alg)
  } catch (error) {
    if (error instanceof KeySetUnavailable) {
      throw serviceUnavailable("The identity provider's signing keys are unavailable; try again shortly.")
    }
    throw error
  }
}
