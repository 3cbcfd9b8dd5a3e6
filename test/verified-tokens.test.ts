/**
 * src/auth/verified-tokens.ts remembers the tokens it has verified, per isolate and configuration. These attack
 * that memory: a remembered token must still expire, must not survive a new configuration, and in
 * JWKS mode must not outlive the key that verified it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { base64url, expectProblem, newUserId, nowSeconds, request, tokenFor } from './helpers'

const ISSUER = 'https://auth.example.com'

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

const me = (token: string, env: Partial<Env> = {}) => request('/me', { token, env })

describe('a token verified once', () => {
  it('is refused once it expires, though it was accepted before', async () => {
    const token = await tokenFor(newUserId(), { exp: nowSeconds() + 5 })
    const env = {}
    expect((await me(token, env)).status).toBe(200)
    expect((await me(token, env)).status).toBe(200)
    // Past exp and the default 60 seconds of clock skew.
    vi.useFakeTimers({ now: Date.now() + 70_000, toFake: ['Date'] })
    const problem = await expectProblem(await me(token, env), 401)
    expect(problem.detail).toBe('The token has expired.')
  })

  it('is refused in any other spelling, though the canonical one was accepted and is remembered', async () => {
    const token = await tokenFor(newUserId())
    const env = {}
    expect((await me(token, env)).status).toBe(200)
    expect((await me(token, env)).status).toBe(200)
    // The same bytes spelled otherwise: a padded signature, and one with its unused trailing bits set.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = token.at(-1)!
    const trailingBits = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(last) + 1]}`
    for (const spelling of [`${token}=`, trailingBits]) {
      const problem = await expectProblem(await me(spelling, env), 401)
      expect(problem.detail).toBe('The bearer token is not three canonical base64url segments.')
    }
    expect((await me(token, env)).status).toBe(200)
  })

  it('is refused under a new configuration that does not accept it', async () => {
    const token = await tokenFor(newUserId())
    expect((await me(token, {})).status).toBe(200)
    // Another secret: the same token must be verified again, and fail.
    const rotated = { BETTER_AUTH_SECRET: 'another-secret-that-is-long-enough-for-hs256-98765' }
    await expectProblem(await me(token, rotated), 401)
    const audience = { JWT_AUDIENCE: 'https://api.example.com' }
    await expectProblem(await me(token, audience), 401)
  })

  it('is refused in JWKS mode once its key is withdrawn from the key set', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const jwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey
    let published: JsonWebKey[] = [{ ...jwk, kid: 'k1', alg: 'EdDSA' } as JsonWebKey]
    const url = `${ISSUER}/api/auth/jwks/${crypto.randomUUID()}`
    const realFetch = globalThis.fetch
    vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) =>
      String(input instanceof Request ? input.url : input) === url
        ? Promise.resolve(Response.json({ keys: published }))
        : realFetch(input, init),
    )
    const env = { BETTER_AUTH_SECRET: '', BETTER_AUTH_URL: ISSUER, JWKS_URL: url }
    const claims = { sub: 'user-1', iss: ISSUER, aud: ISSUER, exp: nowSeconds() + 3600 }
    const input = `${base64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: 'k1' }))}.${base64url(JSON.stringify(claims))}`
    const signature = await crypto.subtle.sign('Ed25519', pair.privateKey, new TextEncoder().encode(input))
    const token = `${input}.${base64url(signature)}`
    expect((await me(token, env)).status).toBe(200)
    expect((await me(token, env)).status).toBe(200)

    // The identity provider withdraws the key; the worker sees it at its next refresh.
    published = []
    vi.useFakeTimers({ now: Date.now() + 11 * 60_000, toFake: ['Date'] })
    const problem = await expectProblem(await me(token, env), 401)
    expect(problem.detail).toBe('The token is not signed by a key the identity provider publishes.')
  })
})
