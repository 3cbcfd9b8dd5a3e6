/** A verified token's claims (src/auth/claims.ts): its time window, its identity, its issuer and audience. */
import { env } from 'cloudflare:workers'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { requireCaller, verifiedSubOf } from '../../src/auth'
import type { AppEnv } from '../../src/env'
import type { Problem } from '../../src/problem'
import { newUserId, nowSeconds, signJwt, tokenFor } from '../helpers'
import { CHALLENGE, expectUnauthorized, me } from './unauthorized'

describe('time claims', () => {
  it('refuses a token without exp', async () => {
    const token = await signJwt({ sub: newUserId(), iat: nowSeconds() })
    const { problem } = await expectUnauthorized(await me(token), 'invalid_token')
    expect(problem.detail).toMatch(/no expiry/)
  })

  it('refuses an expired token', async () => {
    const token = await tokenFor(newUserId(), { exp: nowSeconds() - 61 })
    const { problem } = await expectUnauthorized(await me(token), 'invalid_token')
    expect(problem.detail).toMatch(/expired/)
  })

  it('tolerates 60 seconds of clock skew by default, on exp, nbf and iat', async () => {
    const now = nowSeconds()
    expect((await me(await tokenFor(newUserId(), { exp: now - 30 }))).status).toBe(200)
    expect((await me(await tokenFor(newUserId(), { nbf: now + 30, iat: now + 30 }))).status).toBe(200)
  })

  it('refuses a token that is not valid yet (nbf beyond the skew)', async () => {
    await expectUnauthorized(await me(await tokenFor(newUserId(), { nbf: nowSeconds() + 120 })), 'invalid_token')
  })

  it('refuses a token issued in the future (iat beyond the skew)', async () => {
    await expectUnauthorized(await me(await tokenFor(newUserId(), { iat: nowSeconds() + 120 })), 'invalid_token')
  })

  it('refuses time claims that are not numbers', async () => {
    const now = nowSeconds()
    for (const claims of [
      { exp: String(now + 900) },
      { exp: null },
      { exp: [now + 900] },
      { nbf: String(now) },
      { iat: 'yesterday' },
      { iat: null },
    ]) {
      await expectUnauthorized(await me(await tokenFor(newUserId(), claims)), 'invalid_token')
    }
  })

  it('uses JWT_CLOCK_SKEW_SECONDS when configured', async () => {
    const token = await tokenFor(newUserId(), { exp: nowSeconds() - 30 })
    await expectUnauthorized(await me(token, { JWT_CLOCK_SKEW_SECONDS: '0' }), 'invalid_token')
    expect((await me(token, { JWT_CLOCK_SKEW_SECONDS: '45' })).status).toBe(200)
  })
})

describe('a validly signed token outside its time window', () => {
  // requireCaller alone, so the test sees the error it throws before onError renders it.
  const probe = new Hono<AppEnv>()
    .get('/', requireCaller, (c) => c.json({ user: c.var.user.id }))
    .onError((error, c) => c.json({ status: (error as Problem).status, sub: verifiedSubOf(error) ?? null }))
  const probeWith = async (token: string) =>
    (await probe.request('/', { headers: { Authorization: `Bearer ${token}` } }, env)).json()

  it('names its verified sub to the caller when it has expired or is not valid yet', async () => {
    const sub = newUserId()
    const now = nowSeconds()
    for (const claims of [{ exp: now - 3600 }, { nbf: now + 3600 }, { iat: now + 3600 }]) {
      expect(await probeWith(await tokenFor(sub, claims)), JSON.stringify(claims)).toEqual({ status: 401, sub })
    }
    expect(await probeWith(await tokenFor(sub))).toEqual({ user: sub })
  })

  it('names no sub when the signature, the audience or the sub itself is bad', async () => {
    const expired = { exp: nowSeconds() - 3600 }
    const cases = [
      await tokenFor(newUserId(), expired, { secret: 'another-secret-that-is-also-long-enough-000' }),
      await tokenFor(`${newUserId()}\u0000`, expired),
      await tokenFor('x'.repeat(256), expired),
      await signJwt({ ...expired, sub: 42 }),
      await tokenFor(newUserId(), { exp: 'soon' }),
      'not-a-token',
    ]
    for (const token of cases) expect(await probeWith(token)).toEqual({ status: 401, sub: null })
  })

  it('answers the same 401 through the app as any expired token did', async () => {
    const token = await tokenFor(newUserId(), { exp: nowSeconds() - 3600 })
    const { problem, challenge } = await expectUnauthorized(await me(token), 'invalid_token')
    expect(problem.detail).toBe('The token has expired.')
    expect(challenge).toBe(`${CHALLENGE}, error="invalid_token", error_description="The token has expired."`)
  })
})

describe('identity claims', () => {
  it('refuses a token without sub', async () => {
    await expectUnauthorized(await me(await signJwt({ exp: nowSeconds() + 900 })), 'invalid_token')
  })

  it('refuses a sub that is not a non-empty string of at most 255 characters', async () => {
    for (const sub of [42, 0, true, null, '', ['a'], { id: 'a' }, 'x'.repeat(256)]) {
      await expectUnauthorized(await me(await signJwt({ sub, exp: nowSeconds() + 900 })), 'invalid_token')
    }
    expect((await me(await signJwt({ sub: 'x'.repeat(255), exp: nowSeconds() + 900 }))).status).toBe(200)
  })

  it('refuses email or name claims that are not strings', async () => {
    for (const claims of [{ email: 42 }, { name: { first: 'A' } }]) {
      await expectUnauthorized(await me(await tokenFor(newUserId(), claims)), 'invalid_token')
    }
  })

  // U+0000-U+001F, U+007F and unpaired surrogates: SQLite's length() stops at NUL, logs and
  // headers split on control characters, and a lone surrogate has no UTF-8 encoding at all.
  const UNSAFE = [
    '\u0000',
    '\u0000user',
    'user\u0000',
    'a\tb',
    'a\nb',
    'a\u001fb',
    'a\u007fb',
    '\ud800',
    'a\udc00b',
    'b\ud83d',
  ]

  it('refuses a sub with a control character or a lone surrogate', async () => {
    for (const sub of UNSAFE) {
      const { problem } = await expectUnauthorized(
        await me(await signJwt({ sub, exp: nowSeconds() + 900 })),
        'invalid_token',
      )
      expect(problem.detail, JSON.stringify(sub)).toMatch(/sub/)
    }
  })

  it('accepts a sub of any other Unicode text, surrogate pairs included', async () => {
    for (const sub of ['café', 'ユーザー', 'user-\u{1F600}', 'a b', 'a\u0080b']) {
      const res = await me(await signJwt({ sub, exp: nowSeconds() + 900 }))
      expect(res.status, sub).toBe(200)
      expect(await res.json()).toMatchObject({ sub })
    }
  })

  it('drops an email or name with a control character or a lone surrogate, and keeps the user', async () => {
    for (const unsafe of UNSAFE) {
      const sub = newUserId()
      const res = await me(await tokenFor(sub, { email: `${unsafe}@example.com`, name: unsafe }))
      expect(res.status, JSON.stringify(unsafe)).toBe(200)
      expect(await res.json()).toEqual({ sub, email: null, name: null })
    }
    const sub = newUserId()
    const res = await me(await tokenFor(sub, { email: 'ada@example.com', name: 'Ada \u{1F600}' }))
    expect(await res.json()).toEqual({ sub, email: 'ada@example.com', name: 'Ada \u{1F600}' })
  })

  it('puts sub, email and name on /me, and nothing else from the token', async () => {
    const sub = newUserId()
    const res = await me(await tokenFor(sub, { name: 'Ada', role: 'admin', user_id: 'someone-else' }))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ sub, email: `${sub}@example.com`, name: 'Ada' })
  })

  it('reports absent email and name as null', async () => {
    const sub = newUserId()
    const res = await me(await signJwt({ sub, exp: nowSeconds() + 900 }))
    expect(await res.json()).toEqual({ sub, email: null, name: null })
  })
})

describe('issuer and audience', () => {
  const configured = { JWT_ISSUER: 'https://auth.example.com', JWT_AUDIENCE: 'https://api.example.com' }
  const good = { iss: configured.JWT_ISSUER, aud: configured.JWT_AUDIENCE }

  it('accepts the configured iss and aud, including aud as an array', async () => {
    expect((await me(await tokenFor(newUserId(), good), configured)).status).toBe(200)
    const aud = ['https://other.example.com', configured.JWT_AUDIENCE]
    expect((await me(await tokenFor(newUserId(), { ...good, aud }), configured)).status).toBe(200)
  })

  it('refuses a wrong or missing iss when JWT_ISSUER is set', async () => {
    for (const iss of ['https://evil.example.com', undefined, 42]) {
      const token = await tokenFor(newUserId(), { ...good, iss })
      await expectUnauthorized(await me(token, configured), 'invalid_token')
    }
  })

  it('refuses a wrong or missing aud when JWT_AUDIENCE is set', async () => {
    for (const aud of ['https://evil.example.com', ['https://evil.example.com'], undefined, [], 42]) {
      const token = await tokenFor(newUserId(), { ...good, aud })
      await expectUnauthorized(await me(token, configured), 'invalid_token')
    }
  })

  it('does not require iss or aud when neither is configured', async () => {
    expect((await me(await tokenFor(newUserId()))).status).toBe(200)
  })
})
