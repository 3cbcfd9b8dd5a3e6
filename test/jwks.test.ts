/**
 * Key-set rules that Better Auth's own tokens cannot exercise: here the test owns the key pairs, so
 * it can sign tokens that pass the signature check and are refused only by the rule under test.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { KeySet, MAX_AGE_MS, UNKNOWN_KID_BURST, UNKNOWN_KID_REFILL_MS } from '../src/auth/key-set'
import { base64url, expectProblem, request } from './helpers'

const ISSUER = 'https://auth.example.com'

afterEach(() => {
  vi.restoreAllMocks()
})

type Published = JsonWebKey & { kid: string; alg?: string; use?: string }

/** Serves `keys` at a fresh JWKS URL (through a mocked fetch) and returns the worker's env for it. */
function serveKeySet(keys: Published[], status = 200): Partial<Env> {
  const url = `${ISSUER}/api/auth/jwks/${crypto.randomUUID()}`
  const realFetch = globalThis.fetch
  vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) =>
    String(input instanceof Request ? input.url : input) === url
      ? Promise.resolve(
          new Response(JSON.stringify({ keys }), { status, headers: { 'Content-Type': 'application/json' } }),
        )
      : realFetch(input, init),
  )
  return { BETTER_AUTH_SECRET: '', BETTER_AUTH_URL: ISSUER, JWKS_URL: url }
}

const claims = () => ({ sub: 'user-1', iss: ISSUER, aud: ISSUER, exp: Math.floor(Date.now() / 1000) + 600 })

async function signWith(
  privateKey: CryptoKey,
  algorithm: Parameters<SubtleCrypto['sign']>[0],
  header: Record<string, unknown>,
) {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims()))}`
  return `${input}.${base64url(await crypto.subtle.sign(algorithm, privateKey, new TextEncoder().encode(input)))}`
}

async function ed25519(kid: string) {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const jwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey
  return { privateKey: pair.privateKey, published: { ...jwk, kid, alg: 'EdDSA' } as Published }
}

async function rsa(kid: string, alg: 'RS256' | 'PS256') {
  const params = {
    name: alg === 'RS256' ? 'RSASSA-PKCS1-v1_5' : 'RSA-PSS',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  }
  const pair = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair
  const jwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey
  const { alg: _ignored, ...bare } = jwk as JsonWebKey & { alg?: string }
  return { privateKey: pair.privateKey, bare: { ...bare, kid } as Published }
}

const me = (token: string, env: Partial<Env>) => request('/me', { token, env })

describe('keys a token points at', () => {
  it('refuses a validly signed token that carries jku, x5u, jwk or x5c', async () => {
    const { privateKey, published } = await ed25519('k1')
    const env = serveKeySet([published])
    const header = { alg: 'EdDSA', typ: 'JWT', kid: 'k1' }
    expect((await me(await signWith(privateKey, 'Ed25519', header), env)).status).toBe(200)
    for (const extra of [{ jku: `${ISSUER}/jwks` }, { x5u: `${ISSUER}/cert` }, { jwk: published }, { x5c: ['MIIB'] }]) {
      await expectProblem(await me(await signWith(privateKey, 'Ed25519', { ...header, ...extra }), env), 401)
    }
  })
})

describe('a published key is used only as published', () => {
  it('refuses PS256 with a key published for RS256, though the signature is valid', async () => {
    const pss = await rsa('rsa', 'PS256')
    // The key pair can make PS256 signatures, but the key set says RS256.
    const env = serveKeySet([{ ...pss.bare, alg: 'RS256' }])
    const token = await signWith(
      pss.privateKey,
      { name: 'RSA-PSS', saltLength: 32 },
      { alg: 'PS256', typ: 'JWT', kid: 'rsa' },
    )
    await expectProblem(await me(token, env), 401)
    // The same token verifies when the key set does not pin the algorithm.
    expect((await me(token, serveKeySet([pss.bare]))).status).toBe(200)
  })

  it('refuses a key published for encryption (use: enc) or without verify in key_ops', async () => {
    const { privateKey, published } = await ed25519('k2')
    const token = await signWith(privateKey, 'Ed25519', { alg: 'EdDSA', typ: 'JWT', kid: 'k2' })
    await expectProblem(await me(token, serveKeySet([{ ...published, use: 'enc' }])), 401)
    await expectProblem(await me(token, serveKeySet([{ ...published, key_ops: ['encrypt'] }])), 401)
    expect((await me(token, serveKeySet([{ ...published, use: 'sig', key_ops: ['verify'] }]))).status).toBe(200)
  })

  it('refuses a key of another type under the right kid', async () => {
    const { privateKey, published } = await ed25519('k3')
    const token = await signWith(privateKey, 'Ed25519', { alg: 'EdDSA', typ: 'JWT', kid: 'k3' })
    const { bare: rsaKey } = await rsa('k3', 'RS256')
    await expectProblem(await me(token, serveKeySet([rsaKey])), 401)
    await expectProblem(await me(token, serveKeySet([{ ...published, crv: 'Ed448' }])), 401)
  })
})

describe('fetching the key set', () => {
  it('refuses a key set served with an error status, whatever its body', async () => {
    const { privateKey, published } = await ed25519('k4')
    const token = await signWith(privateKey, 'Ed25519', { alg: 'EdDSA', typ: 'JWT', kid: 'k4' })
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    await expectProblem(await me(token, serveKeySet([published], 500)), 503)
    await expectProblem(await me(token, serveKeySet([published], 302)), 503)
  })

  it('refuses a key set of more than 50 keys', async () => {
    const { privateKey, published } = await ed25519('k5')
    const token = await signWith(privateKey, 'Ed25519', { alg: 'EdDSA', typ: 'JWT', kid: 'k5' })
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const padding = Array.from({ length: 50 }, (_, i) => ({ ...published, kid: `pad-${i}` }))
    await expectProblem(await me(token, serveKeySet([published, ...padding])), 503)
    expect((await me(token, serveKeySet([published, ...padding.slice(1)]))).status).toBe(200)
  })
})

/** A key set the test can change between requests, the number of times it was fetched, and a clock. */
function serveLiveKeySet(keys: Published[]) {
  const url = `${ISSUER}/api/auth/jwks/${crypto.randomUUID()}`
  let fetches = 0
  const realFetch = globalThis.fetch
  vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    if (String(input instanceof Request ? input.url : input) !== url) return realFetch(input, init)
    fetches++
    return Promise.resolve(new Response(JSON.stringify({ keys }), { headers: { 'Content-Type': 'application/json' } }))
  })
  let now = Date.now()
  vi.spyOn(Date, 'now').mockImplementation(() => now)
  return {
    env: { BETTER_AUTH_SECRET: '', BETTER_AUTH_URL: ISSUER, JWKS_URL: url } as Partial<Env>,
    keys,
    fetches: () => fetches,
    advance: (ms: number) => {
      now += ms
    },
  }
}

/** Tokens naming kids nobody published. Their signature is never checked: the kid is looked up first. */
function madeUpKidTokens(count: number, signature: string) {
  const payload = base64url(JSON.stringify(claims()))
  return Array.from(
    { length: count },
    () =>
      `${base64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: crypto.randomUUID() }))}.${payload}.${signature}`,
  )
}

/** A key set for `env`'s URL, asked directly: the lookup verify.ts makes, without the HTTP around it. */
const keySetOf = (env: Partial<Env>) => new KeySet(env.JWKS_URL!)

describe('key rotation', () => {
  it('honours a kid published within a second of the first fetch', async () => {
    const first = await ed25519('first')
    const live = serveLiveKeySet([first.published])
    expect(
      (await me(await signWith(first.privateKey, 'Ed25519', { alg: 'EdDSA', kid: 'first' }), live.env)).status,
    ).toBe(200)
    expect(live.fetches()).toBe(1)

    live.advance(500)
    const rotated = await ed25519('rotated')
    live.keys.push(rotated.published)
    const token = await signWith(rotated.privateKey, 'Ed25519', { alg: 'EdDSA', kid: 'rotated' })
    expect((await me(token, live.env)).status).toBe(200)
    expect(live.fetches()).toBe(2)
    // Known now: no further fetch.
    expect((await me(token, live.env)).status).toBe(200)
    expect(live.fetches()).toBe(2)
  })

  it('fetches a bounded number of times for 1,000 made-up kids, and still honours a rotation after the budget refills', async () => {
    const known = await ed25519('known')
    const live = serveLiveKeySet([known.published])
    const good = await signWith(known.privateKey, 'Ed25519', { alg: 'EdDSA', kid: 'known' })
    expect((await me(good, live.env)).status).toBe(200)

    // Through the app, then concurrently against a fresh key set, as a flood would arrive.
    for (const token of madeUpKidTokens(50, good.split('.')[2]!)) await expectProblem(await me(token, live.env), 401)
    expect(live.fetches()).toBe(1 + UNKNOWN_KID_BURST)
    const keySet = keySetOf(live.env)
    expect(await keySet.key('known', 'EdDSA')).not.toBeNull()
    const found = await Promise.all(Array.from({ length: 1000 }, () => keySet.key(crypto.randomUUID(), 'EdDSA')))
    expect(found.every((key) => key === null)).toBe(true)
    // Each: the first fetch, then one per unknown-kid budget token; four with the defaults.
    expect(live.fetches()).toBe(2 * (1 + UNKNOWN_KID_BURST))
    expect(live.fetches()).toBe(8)
    expect((await me(good, live.env)).status).toBe(200)
    expect(live.fetches()).toBe(8)

    // The budget refills at its own pace: one more unknown kid may be fetched per refill interval.
    const rotated = await ed25519('rotated')
    live.keys.push(rotated.published)
    const token = await signWith(rotated.privateKey, 'Ed25519', { alg: 'EdDSA', kid: 'rotated' })
    await expectProblem(await me(token, live.env), 401)
    live.advance(UNKNOWN_KID_REFILL_MS)
    expect((await me(token, live.env)).status).toBe(200)
    expect(live.fetches()).toBe(9)
  })

  it('spends at most the refill rate on made-up kids over a simulated hour', async () => {
    const known = await ed25519('known')
    const live = serveLiveKeySet([known.published])
    const keySet = keySetOf(live.env)
    expect(await keySet.key('known', 'EdDSA')).not.toBeNull()
    const hour = 60 * 60_000
    const attempts = 3600
    for (let i = 0; i < attempts; i++) {
      expect(await keySet.key(crypto.randomUUID(), 'EdDSA')).toBeNull()
      live.advance(hour / attempts)
    }
    // The burst, one per refill interval, and the periodic refreshes the known set needs anyway.
    const bound = 1 + UNKNOWN_KID_BURST + hour / UNKNOWN_KID_REFILL_MS + hour / MAX_AGE_MS
    expect(live.fetches()).toBeLessThanOrEqual(bound)
    expect(live.fetches()).toBeGreaterThan(hour / UNKNOWN_KID_REFILL_MS)
  })

  it('refreshes the key set on schedule even when made-up kids have spent the unknown-kid budget', async () => {
    const known = await ed25519('known')
    const live = serveLiveKeySet([known.published])
    const good = await signWith(known.privateKey, 'Ed25519', { alg: 'EdDSA', kid: 'known' })
    expect((await me(good, live.env)).status).toBe(200)
    for (const token of madeUpKidTokens(20, good.split('.')[2]!)) await expectProblem(await me(token, live.env), 401)
    const spent = live.fetches()
    live.advance(MAX_AGE_MS)
    expect((await me(good, live.env)).status).toBe(200)
    expect(live.fetches()).toBe(spent + 1)
  })
})
