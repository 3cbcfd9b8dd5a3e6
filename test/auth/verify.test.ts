/** Verifying a shared-secret token (src/auth/verify.ts): HS256 with the configured secret only, and no key a token points at. */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { base64url, newUserId, nowSeconds, signJwt, tokenFor } from '../helpers'
import { expectUnauthorized, me } from './unauthorized'

describe('signature and algorithm', () => {
  it('refuses a token signed with another secret', async () => {
    const token = await tokenFor(newUserId(), {}, { secret: 'another-secret-that-is-also-long-enough-000' })
    await expectUnauthorized(await me(token), 'invalid_token')
  })

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, , signature] = (await tokenFor('victim')).split('.')
    const forged = base64url(JSON.stringify({ sub: 'attacker', exp: nowSeconds() + 900 }))
    await expectUnauthorized(await me(`${header}.${forged}.${signature}`), 'invalid_token')
  })

  it('refuses alg "none" with or without a signature', async () => {
    const payload = base64url(JSON.stringify({ sub: newUserId(), exp: nowSeconds() + 900 }))
    for (const alg of ['none', 'None', 'NONE']) {
      const header = base64url(JSON.stringify({ alg, typ: 'JWT' }))
      await expectUnauthorized(await me(`${header}.${payload}.`), 'invalid_token')
      await expectUnauthorized(await me(`${header}.${payload}`), 'invalid_token')
    }
  })

  it('refuses HS384 and HS512 even with the right secret', async () => {
    for (const alg of ['HS384', 'HS512'] as const) {
      const token = await tokenFor(newUserId(), {}, { alg, header: { alg, typ: 'JWT' } })
      await expectUnauthorized(await me(token), 'invalid_token')
    }
  })

  it('refuses a token whose header claims an asymmetric algorithm (alg confusion)', async () => {
    for (const alg of ['RS256', 'ES256', 'EdDSA', 'PS256']) {
      const token = await tokenFor(newUserId(), {}, { header: { alg, typ: 'JWT' } })
      await expectUnauthorized(await me(token), 'invalid_token')
    }
  })

  it('refuses a typ other than JWT, and accepts a missing typ', async () => {
    for (const typ of ['JWS', 'at+jwt', 'JOSE', 42]) {
      const token = await tokenFor(newUserId(), {}, { header: { alg: 'HS256', typ } })
      await expectUnauthorized(await me(token), 'invalid_token')
    }
    expect((await me(await tokenFor(newUserId(), {}, { header: { alg: 'HS256' } }))).status).toBe(200)
  })

  it('refuses a token with a crit header', async () => {
    for (const crit of [['exp'], ['b64'], ['x-unknown']]) {
      const token = await tokenFor(newUserId(), {}, { header: { alg: 'HS256', typ: 'JWT', crit } })
      await expectUnauthorized(await me(token), 'invalid_token')
    }
  })

  it('never answers 500 for a malformed token', async () => {
    const goodHeader = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
    const malformed = [
      'a.b.c',
      'a.b',
      'a.b.c.d',
      '...',
      '%%%.%%%.%%%',
      `${goodHeader}.${base64url('null')}.sig`,
      `${base64url('[]')}.${base64url('{}')}.sig`,
      `${base64url('"x"')}.${base64url('{}')}.sig`,
      `${base64url('null')}.${base64url('{}')}.sig`,
      `${base64url('42')}.${base64url('{}')}.sig`,
      `${goodHeader}.${base64url('{not json')}.sig`,
      `${goodHeader}.${base64url(JSON.stringify({ sub: 'x', exp: 1e12 }))}.***`,
      await signJwt(null),
      await signJwt([1, 2]),
      await signJwt('a string'),
      await signJwt(42),
    ]
    for (const token of malformed) {
      await expectUnauthorized(await me(token), 'invalid_token')
    }
  })

  it('works with a secret that contains "PUBLIC" or "PRIVATE" (not mistaken for a PEM key)', async () => {
    for (const secret of ['THIS-IS-NOT-A-PUBLIC-KEY-0123456789abcdef', 'a-PRIVATE-looking-secret-0123456789abcdef']) {
      const token = await tokenFor(newUserId(), {}, { secret })
      expect((await me(token, { BETTER_AUTH_SECRET: secret })).status).toBe(200)
    }
  })
})

describe('keys a shared-secret token points at', () => {
  it('refuses an HS256 token that carries jku, x5u, jwk or x5c, though the signature is valid', async () => {
    const header = { alg: 'HS256', typ: 'JWT' }
    expect((await me(await tokenFor(newUserId(), {}, { header }))).status).toBe(200)
    for (const extra of [
      { jku: 'https://evil.example.com/jwks' },
      { x5u: 'https://evil.example.com/cert' },
      { jwk: { kty: 'oct', k: base64url(env.BETTER_AUTH_SECRET) } },
      { x5c: ['MIIB'] },
      { jku: null },
    ]) {
      const token = await tokenFor(newUserId(), {}, { header: { ...header, ...extra } })
      await expectUnauthorized(await me(token), 'invalid_token')
    }
  })
})
