/**
 * Key-set rules that Better Auth's own tokens cannot exercise: here the test owns the key pairs, so
 * it can sign tokens that pass the signature check and are refused only by the rule under test.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
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
