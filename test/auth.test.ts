import { env } from 'cloudflare:workers'
import { Hono } from 'hono'
import { describe, expect, it, vi } from 'vitest'
import { app } from '../src/app'
import { requireUser, verifiedSubOf } from '../src/auth'
import type { AppEnv } from '../src/env'
import type { Problem } from '../src/problem'
import {
  base64url,
  countingDb,
  expectProblem,
  newUserId,
  nowSeconds,
  request,
  signIn,
  signJwt,
  tokenFor,
} from './helpers'

const CHALLENGE = 'Bearer realm="tasks"'

/** 401 problem+json, with the challenge for `error` (none when no token was presented). */
async function expectUnauthorized(res: Response, error?: 'invalid_token' | 'invalid_request') {
  const problem = await expectProblem(res, 401)
  expect(problem.type).toBe('/problems/unauthorized')
  const challenge = res.headers.get('WWW-Authenticate') ?? ''
  if (error) expect(challenge).toMatch(new RegExp(`^${CHALLENGE}, error="${error}"`))
  else expect(challenge).toBe(CHALLENGE)
  return { problem, challenge }
}

const me = (token: string, env?: Partial<Env>) => request('/me', { token, ...(env && { env }) })

describe("the spec's four", () => {
  it('rejects a request with no token', async () => {
    await expectUnauthorized(await request('/tasks'))
  })

  it('rejects an invalid token', async () => {
    await expectUnauthorized(await request('/tasks', { token: 'not-a-jwt' }), 'invalid_token')
  })

  it('allows a valid token', async () => {
    const user = await signIn()
    const res = await user.request('/tasks')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ items: [], nextCursor: null })
  })

  it('keeps user A out of user B tasks (covered in depth by isolation.test.ts)', async () => {
    const a = await signIn()
    const b = await signIn()
    const task = await b.createTask()
    expect((await a.request(`/tasks/${task.id}`)).status).toBe(403)
  })
})

describe('authentication before business logic', () => {
  it('answers 401 before reading the body, validating anything or touching D1', async () => {
    let pulled = false
    // highWaterMark 0: the stream is pulled only when someone reads it, not on construction.
    const body = new ReadableStream(
      {
        pull() {
          pulled = true
          throw new Error('the body of an unauthenticated request must not be read')
        },
      },
      { highWaterMark: 0 },
    )
    const { db, counter } = countingDb(env.DB)
    const res = await request('/tasks?user_id=someone&sort=nope', {
      method: 'POST',
      token: 'not-a-token',
      body,
      headers: {
        'Content-Type': 'text/plain',
        'Idempotency-Key': 'k'.repeat(300),
        'x-d1-bookmark': 'bad',
        'If-Match': 'bad',
      },
      env: { DB: db },
    })
    await expectUnauthorized(res, 'invalid_token')
    expect(pulled).toBe(false)
    expect(counter.roundTrips).toBe(0)
  })
})

describe('the Authorization header', () => {
  it('accepts the scheme in any case', async () => {
    const token = await tokenFor(newUserId())
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await request('/me', { headers: { Authorization: `${scheme} ${token}` } })
      expect(res.status, scheme).toBe(200)
    }
  })

  it('refuses other schemes', async () => {
    const token = await tokenFor(newUserId())
    for (const value of [`Basic ${btoa('a:b')}`, `Token ${token}`, `JWT ${token}`, token]) {
      await expectUnauthorized(await request('/me', { headers: { Authorization: value } }), 'invalid_request')
    }
  })

  it('refuses two tokens in one header', async () => {
    const token = await tokenFor(newUserId())
    const res = await request('/me', { headers: { Authorization: `Bearer ${token} ${token}` } })
    await expectUnauthorized(res, 'invalid_request')
  })

  it('refuses an empty bearer token', async () => {
    await expectUnauthorized(await request('/me', { headers: { Authorization: 'Bearer ' } }), 'invalid_request')
  })

  it('ignores a token in the query string', async () => {
    const token = await tokenFor(newUserId())
    for (const name of ['access_token', 'token', 'jwt']) {
      await expectUnauthorized(await request(`/me?${name}=${token}`))
      await expectUnauthorized(await request(`/tasks?${name}=${token}`))
    }
  })

  it('ignores a token in a cookie', async () => {
    const token = await tokenFor(newUserId())
    const cookie = ['token', 'jwt', 'better-auth.session_token', 'better-auth.session_data'].map((n) => `${n}=${token}`)
    await expectUnauthorized(await request('/me', { headers: { Cookie: cookie.join('; ') } }))
  })

  it('refuses an oversized header before verifying anything', async () => {
    const res = await request('/me', { headers: { Authorization: `Bearer ${'a'.repeat(9000)}` } })
    await expectUnauthorized(res, 'invalid_request')
  })

  it('never echoes the URL or the token in the challenge', async () => {
    const token = await tokenFor(newUserId(), { exp: nowSeconds() - 3600 })
    const { problem, challenge } = await expectUnauthorized(
      await request('/tasks?marker=url-marker', { token }),
      'invalid_token',
    )
    for (const text of [challenge, JSON.stringify(problem)]) {
      expect(text).not.toContain('url-marker')
      expect(text).not.toContain('tasks.test')
      expect(text).not.toContain(token.split('.')[2])
    }
  })
})

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

describe('token encoding', () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

  /** Signs an arbitrary signing input with the test secret, as an issuer that encodes sloppily would. */
  async function signInput(input: string): Promise<string> {
    const key = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(env.BETTER_AUTH_SECRET),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    )
    return base64url(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input)))
  }

  /** The same bytes with the unused low bits of the last character set: decodes identically. */
  const withUnusedBits = (segment: string) => {
    const last = ALPHABET.indexOf(segment.at(-1)!)
    const unusedBits = { 2: 4, 3: 2 }[(segment.length % 4) as 2 | 3]
    return `${segment.slice(0, -1)}${ALPHABET[last | ((1 << unusedBits) - 1)]}`
  }

  it('accepts the canonical form it refuses every variant of', async () => {
    expect((await me(await tokenFor(newUserId()))).status).toBe(200)
  })

  it('refuses a signature with padding, changed unused bits, or characters outside base64url', async () => {
    const token = await tokenFor(newUserId())
    const [header, payload, signature] = token.split('.') as [string, string, string]
    // An HS256 signature is 32 bytes: 43 characters, whose last carries 2 unused bits.
    expect(signature.length % 4).toBe(3)
    for (const forged of [
      `${signature}=`,
      withUnusedBits(signature),
      `${signature.slice(0, -1)}+`,
      `${signature.slice(0, -2)}/${signature.at(-1)}`,
    ]) {
      await expectUnauthorized(await me(`${header}.${payload}.${forged}`), 'invalid_token')
    }
  })

  it('refuses a header or payload that is not canonical base64url, though it is signed as sent', async () => {
    // Chosen so that both segments end in a partial group and the payload holds a '_'.
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'k' }))
    const payload = base64url(JSON.stringify({ sub: 'encoding-user', exp: 1e10, n: 'a??>' }))
    expect([header.length % 4, payload.length % 4, payload.includes('_')]).toEqual([2, 2, true])
    const canonical = `${header}.${payload}`
    expect((await me(`${canonical}.${await signInput(canonical)}`)).status).toBe(200)
    const variants = [
      `${header}=.${payload}`,
      `${header}.${payload}==`,
      `${withUnusedBits(header)}.${payload}`,
      `${header}.${withUnusedBits(payload)}`,
      `${header}.${payload.replace(/_/g, '/')}`,
    ]
    for (const input of variants) {
      await expectUnauthorized(await me(`${input}.${await signInput(input)}`), 'invalid_token')
    }
  })

  it('refuses a header or payload that is not UTF-8, though it is signed as sent', async () => {
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
    const claims = (sub: string) => new TextEncoder().encode(JSON.stringify({ sub, exp: nowSeconds() + 900 }))
    const utf8 = base64url(claims('user-caf\u00e9'))
    expect((await me(`${header}.${utf8}.${await signInput(`${header}.${utf8}`)}`)).status).toBe(200)
    // "café" in ISO-8859-1, a lone continuation byte, and a UTF-8-encoded surrogate: each would be
    // decoded to U+FFFD and become part of the user id.
    for (const bytes of [[0x63, 0x61, 0x66, 0xe9], [0x80], [0xed, 0xa0, 0x80]]) {
      const raw = claims('user-#')
      const at = raw.indexOf(0x23)
      const payload = base64url(new Uint8Array([...raw.slice(0, at), ...bytes, ...raw.slice(at + 1)]))
      const input = `${header}.${payload}`
      await expectUnauthorized(await me(`${input}.${await signInput(input)}`), 'invalid_token')
    }
  })

  it('refuses a token of other than three segments', async () => {
    const token = await tokenFor(newUserId())
    for (const forged of [`${token}.`, `.${token}`, token.split('.').slice(0, 2).join('.')]) {
      await expectUnauthorized(await me(forged), 'invalid_token')
    }
  })

  it('checks the encoding before any signature is computed', async () => {
    const verified = vi.spyOn(crypto.subtle, 'verify')
    const token = await tokenFor(newUserId())
    await expectUnauthorized(await me(`${token}=`), 'invalid_token')
    expect(verified).not.toHaveBeenCalled()
    expect((await me(token)).status).toBe(200)
    expect(verified).toHaveBeenCalledOnce()
    verified.mockRestore()
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
  // requireUser alone, so the test sees the error it throws before onError renders it.
  const probe = new Hono<AppEnv>()
    .get('/', requireUser, (c) => c.json({ user: c.var.user.id }))
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

describe('configuration fails closed', () => {
  const cases: [string, Partial<Env>, RegExp][] = [
    ['no secret and no JWKS', { BETTER_AUTH_SECRET: undefined as unknown as string }, /neither BETTER_AUTH_SECRET/],
    ['an empty secret and no JWKS', { BETTER_AUTH_SECRET: '' }, /neither BETTER_AUTH_SECRET/],
    [
      'a short secret beside a valid JWKS URL',
      { BETTER_AUTH_SECRET: 'short', BETTER_AUTH_URL: 'https://auth.example.com' },
      /shorter than 32/,
    ],
    ['a BETTER_AUTH_URL that is not a URL', { BETTER_AUTH_URL: 'auth.example.com' }, /BETTER_AUTH_URL must be/],
    ['a plain-http BETTER_AUTH_URL off this machine', { BETTER_AUTH_URL: 'http://auth.example.com' }, /https/],
    [
      'a plain-http JWKS_URL off this machine',
      { BETTER_AUTH_URL: 'https://auth.example.com', JWKS_URL: 'http://keys.example.com/jwks' },
      /JWKS_URL must be/,
    ],
    [
      'a JWKS_URL with no issuer or audience to check',
      { JWKS_URL: 'https://auth.example.com/api/auth/jwks' },
      /JWT_ISSUER and JWT_AUDIENCE/,
    ],
    ['a secret shorter than 32 characters', { BETTER_AUTH_SECRET: 'short-secret' }, /shorter than 32/],
    ['an invalid clock skew', { JWT_CLOCK_SKEW_SECONDS: 'lots' }, /JWT_CLOCK_SKEW_SECONDS/],
    ['an excessive clock skew', { JWT_CLOCK_SKEW_SECONDS: '86400' }, /JWT_CLOCK_SKEW_SECONDS/],
  ]
  for (const [what, override, reason] of cases) {
    it(`answers 500 "server misconfigured", accepts nothing and logs why once, with ${what}`, async () => {
      const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
      const secret = override.BETTER_AUTH_SECRET || env.BETTER_AUTH_SECRET
      const token = await tokenFor(newUserId(), {}, { secret })
      for (const path of ['/me', '/tasks']) {
        const problem = await expectProblem(await request(path, { token, env: override }), 500)
        expect(problem).toMatchObject({ type: '/problems/server-misconfigured', title: 'Server misconfigured' })
        expect(JSON.stringify(problem)).not.toMatch(reason)
      }
      expect((await request('/health', { env: override })).status).toBe(200)
      expect(logged).toHaveBeenCalledTimes(1)
      expect(JSON.parse(String(logged.mock.calls[0]?.[0]))).toMatchObject({
        message: 'server misconfigured',
        reason: expect.stringMatching(reason),
      })
      logged.mockRestore()
    })
  }
})

describe('protection by design', () => {
  // Public on purpose: the health check, the API's description, the VAPID public key and the MCP
  // resource's OAuth metadata (RFC 9728), which hold no user data (the /docs page is static assets,
  // never this worker).
  const PUBLIC = new Set([
    '/health',
    '/openapi.json',
    '/push/public-key',
    '/.well-known/oauth-protected-resource',
    '/.well-known/oauth-protected-resource/mcp',
  ])

  // One request per route and method: with chat's routes, more than the default 5 s on a busy machine.
  it('requires a token on every route except /health and the documentation', { timeout: 30_000 }, async () => {
    const routes = app.routes.filter((r) => !PUBLIC.has(r.path) && r.path !== '/*')
    expect(routes.length).toBeGreaterThan(5)
    for (const { method, path } of routes) {
      const concrete = path.replace(':id', crypto.randomUUID()).replace('/*', '')
      const methods = method === 'ALL' ? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] : [method]
      for (const m of methods) {
        const res = await request(concrete, { method: m, ...(m !== 'GET' && { body: { title: 'x' } }) })
        expect(res.status, `${m} ${concrete}`).toBe(401)
      }
    }
  })
})
