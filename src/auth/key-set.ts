/**
 * One JWKS URL's published signing keys (Better Auth's). Only keys are handled here; keys.ts holds
 * one KeySet per URL, and tokens are verified in verify.ts alone.
 *
 * - A busy isolate fetches the set at most once per MAX_AGE; a failed refresh of a stale set is
 *   retried after RETRY_STALE.
 * - A `kid` it does not know triggers a refetch at once, even right after another fetch, so a key
 *   rotation is honoured immediately. Those refetches have a budget of their own, a token bucket of
 *   UNKNOWN_KID_BURST refilled one per UNKNOWN_KID_REFILL, so a flood of made-up kids costs a few
 *   fetches a minute and never delays the periodic refresh.
 * - When a refresh fails, the cached set keeps serving. With nothing cached, callers get
 *   KeySetUnavailable (503) and the fetch is not retried for RETRY_EMPTY.
 */

export const MAX_AGE_MS = 10 * 60_000
export const RETRY_STALE_MS = 30_000
export const UNKNOWN_KID_BURST = 3
export const UNKNOWN_KID_REFILL_MS = 20_000
export const RETRY_EMPTY_MS = 5_000
export const FETCH_TIMEOUT_MS = 3_000
const MAX_BYTES = 64 * 1024
const MAX_KEYS = 50

/** The asymmetric algorithms Better Auth can publish, each tied to one key type. */
export const KEY_TYPES = {
  EdDSA: { kty: 'OKP', crv: 'Ed25519', importAs: { name: 'Ed25519' } },
  ES256: { kty: 'EC', crv: 'P-256', importAs: { name: 'ECDSA', namedCurve: 'P-256' } },
  ES512: { kty: 'EC', crv: 'P-521', importAs: { name: 'ECDSA', namedCurve: 'P-521' } },
  RS256: { kty: 'RSA', crv: undefined, importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } },
  PS256: { kty: 'RSA', crv: undefined, importAs: { name: 'RSA-PSS', hash: 'SHA-256' } },
} as const
export type AsymmetricAlg = keyof typeof KEY_TYPES

export const isAsymmetricAlg = (alg: unknown): alg is AsymmetricAlg =>
  typeof alg === 'string' && Object.hasOwn(KEY_TYPES, alg)

export class KeySetUnavailable extends Error {}

type Jwk = JsonWebKey & { kid?: unknown; use?: unknown }

export class KeySet {
  #keys: Map<string, Jwk> | undefined
  #imported = new Map<string, Promise<CryptoKey | null>>()
  #fetchedAt = Number.NEGATIVE_INFINITY
  #attemptedAt = Number.NEGATIVE_INFINITY
  #refreshing: Promise<void> | undefined
  #unknownKidBudget = UNKNOWN_KID_BURST
  #budgetCountedAt = Date.now()

  constructor(readonly url: string) {}

  /** The verification key for `kid`, usable only with `alg`; null when there is none. */
  async key(kid: string, alg: AsymmetricAlg): Promise<CryptoKey | null> {
    const now = Date.now()
    if (!this.#keys) {
      if (now - this.#attemptedAt >= RETRY_EMPTY_MS) await this.#refresh()
      if (!this.#keys) throw new KeySetUnavailable(`no signing keys could be fetched from ${this.url}`)
    } else if (now - this.#fetchedAt >= MAX_AGE_MS && now - this.#attemptedAt >= RETRY_STALE_MS) {
      await this.#refresh()
    }
    if (!this.#keys.has(kid)) {
      // A fetch under way may bring the kid: wait for it rather than spend the budget on a twin.
      while (this.#refreshing) await this.#refreshing
      if (!this.#keys.has(kid) && this.#spendUnknownKidBudget(now)) await this.#refresh()
    }
    const jwk = this.#keys.get(kid)
    if (!jwk) return null
    let imported = this.#imported.get(`${kid} ${alg}`)
    if (!imported) {
      imported = importVerifyKey(jwk, alg)
      this.#imported.set(`${kid} ${alg}`, imported)
    }
    return imported
  }

  /** Takes one token from the unknown-kid bucket, refilled by the time elapsed; false when empty. */
  #spendUnknownKidBudget(now: number): boolean {
    const refilled = Math.floor((now - this.#budgetCountedAt) / UNKNOWN_KID_REFILL_MS)
    if (refilled > 0) {
      this.#unknownKidBudget = Math.min(UNKNOWN_KID_BURST, this.#unknownKidBudget + refilled)
      this.#budgetCountedAt += refilled * UNKNOWN_KID_REFILL_MS
    }
    if (this.#unknownKidBudget < 1) return false
    this.#unknownKidBudget--
    return true
  }

  /** One fetch at a time; never throws: a failure leaves the previous set in place. */
  #refresh(): Promise<void> {
    this.#refreshing ??= this.#fetch().finally(() => {
      this.#refreshing = undefined
    })
    return this.#refreshing
  }

  async #fetch(): Promise<void> {
    this.#attemptedAt = Date.now()
    try {
      const response = await fetch(this.url, {
        headers: { Accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      })
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`)
      const text = await response.text()
      if (text.length > MAX_BYTES) throw new Error(`key set larger than ${MAX_BYTES} bytes`)
      const { keys } = JSON.parse(text) as { keys?: unknown }
      if (!Array.isArray(keys) || keys.length > MAX_KEYS) throw new Error('"keys" is not an array of at most 50 keys')
      const byKid = new Map<string, Jwk>()
      for (const key of keys as Jwk[]) {
        if (typeof key === 'object' && key !== null && typeof key.kid === 'string') byKid.set(key.kid, key)
      }
      this.#keys = byKid
      this.#imported.clear()
      this.#fetchedAt = Date.now()
    } catch (error) {
      console.warn(
        JSON.stringify({
          level: 'warn',
          message: 'JWKS fetch failed',
          url: this.url,
          error: String(error),
          cached: !!this.#keys,
        }),
      )
    }
  }
}

// Private members (d, p, q, …) are never imported, even if a JWKS publishes them by mistake.
const PUBLIC_MEMBERS = { OKP: ['crv', 'x'], EC: ['crv', 'x', 'y'], RSA: ['n', 'e'] } as const

/** Imports only the public members, and only when the key's type, curve and metadata fit `alg`. */
async function importVerifyKey(jwk: Jwk, alg: AsymmetricAlg): Promise<CryptoKey | null> {
  const { kty, crv, importAs } = KEY_TYPES[alg]
  if (jwk.kty !== kty || (crv !== undefined && jwk.crv !== crv)) return null
  if ((jwk.alg !== undefined && jwk.alg !== alg) || (jwk.use !== undefined && jwk.use !== 'sig')) return null
  if (jwk.key_ops !== undefined && !jwk.key_ops.includes('verify')) return null
  const publicJwk: JsonWebKey = { kty }
  for (const member of PUBLIC_MEMBERS[kty]) {
    if (jwk[member] !== undefined) Object.assign(publicJwk, { [member]: jwk[member] })
  }
  try {
    return await crypto.subtle.importKey('jwk', publicJwk, importAs, false, ['verify'])
  } catch {
    return null
  }
}
