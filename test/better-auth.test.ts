/**
 * Interoperability with the real `better-auth` package (servers started in Node by
 * test/better-auth/global-setup.ts). The worker fetches their JWKS over loopback.
 */
import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import { UNKNOWN_KID_BURST, UNKNOWN_KID_REFILL_MS } from '../src/auth/key-set'
import type { Task } from '../src/tasks/model'
import { SHARED_SECRET } from './better-auth/instances'
import { base64url, decodeJwtPart, expectProblem, request, signJwt } from './helpers'

const instances = inject('betterAuth')
const PASSWORD = 'correct-horse-battery-staple'

afterEach(() => {
  vi.restoreAllMocks()
})

/** JWKS mode against `base`; each call gets its own key cache (its own JWKS URL), like a new isolate. */
function jwksMode(base: string, extra: Partial<Env> = {}): Partial<Env> {
  return {
    BETTER_AUTH_SECRET: '',
    BETTER_AUTH_URL: base,
    JWKS_URL: `${base}/api/auth/jwks?isolate=${crypto.randomUUID()}`,
    ...extra,
  }
}

interface BetterAuthUser {
  id: string
  email: string
  /** The session cookies Better Auth set at sign-up. */
  cookie: string
  setCookies: string[]
  /** From GET /api/auth/token. */
  token: string
}

/** Signs a new user up with email and password, then asks Better Auth for their JWT. */
async function signUp(base: string): Promise<BetterAuthUser> {
  const email = `user-${crypto.randomUUID()}@example.com`
  const res = await fetch(`${base}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: base },
    body: JSON.stringify({ email, password: PASSWORD, name: 'Test User' }),
  })
  expect(res.status, await res.clone().text()).toBe(200)
  const { user } = await res.json<{ user: { id: string } }>()
  const setCookies = res.headers.getSetCookie()
  const cookie = setCookies.map((c) => c.split(';')[0]).join('; ')
  return { id: user.id, email, cookie, setCookies, token: await tokenFrom(base, cookie) }
}

async function tokenFrom(base: string, cookie: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/token`, { headers: { Cookie: cookie } })
  expect(res.status).toBe(200)
  return (await res.json<{ token: string }>()).token
}

const jwksFetches = async (base: string) =>
  (await (await fetch(`${base}/__test/stats`)).json<{ jwksFetches: number }>()).jwksFetches

/** Moves the worker's clock (and only the worker's: Better Auth runs in another process). */
function advanceClock(ms: number) {
  const now = Date.now()
  vi.spyOn(Date, 'now').mockReturnValue(now + ms)
}

const me = (token: string, env: Partial<Env>) => request('/me', { token, env })

describe('JWKS mode with Better Auth defaults (EdDSA)', () => {
  it("lists only each user's own tasks, and gives B 403 on A's task", async () => {
    const env = jwksMode(instances.eddsa)
    const a = await signUp(instances.eddsa)
    const b = await signUp(instances.eddsa)
    const created = await request('/tasks', { method: 'POST', token: a.token, env, body: { title: "A's task" } })
    expect(created.status).toBe(201)
    const task = await created.json<Task>()
    await request('/tasks', { method: 'POST', token: b.token, env, body: { title: "B's task" } })

    const titles = async (token: string) =>
      (await (await request('/tasks', { token, env })).json<{ items: Task[] }>()).items.map((t) => t.title)
    expect(await titles(a.token)).toEqual(["A's task"])
    expect(await titles(b.token)).toEqual(["B's task"])
    expect((await request(`/tasks/${task.id}`, { token: b.token, env })).status).toBe(403)
  })

  it('takes identity from the token Better Auth issues: sub, email and name', async () => {
    const user = await signUp(instances.eddsa)
    expect(decodeJwtPart(user.token, 0)).toMatchObject({ alg: 'EdDSA', kid: expect.any(String) })
    expect(decodeJwtPart(user.token, 1)).toMatchObject({ iss: instances.eddsa, aud: instances.eddsa, sub: user.id })
    const res = await me(user.token, jwksMode(instances.eddsa))
    expect(await res.json()).toEqual({ sub: user.id, email: user.email, name: 'Test User' })
  })

  it('accepts the token from the set-auth-jwt header of get-session', async () => {
    const user = await signUp(instances.eddsa)
    const session = await fetch(`${instances.eddsa}/api/auth/get-session`, { headers: { Cookie: user.cookie } })
    const token = session.headers.get('set-auth-jwt')
    expect(token).toBeTruthy()
    expect((await me(token!, jwksMode(instances.eddsa))).status).toBe(200)
  })

  it('refuses the token once it has expired (15 minutes, plus the 60 s skew)', async () => {
    const user = await signUp(instances.eddsa)
    const env = jwksMode(instances.eddsa)
    expect((await me(user.token, env)).status).toBe(200)
    advanceClock((15 * 60 + 61) * 1000)
    const problem = await expectProblem(await me(user.token, env), 401)
    expect(problem.detail).toMatch(/expired/)
  })

  it('refuses a token from another Better Auth instance claiming the same iss and aud', async () => {
    const stranger = await signUp(instances.impostor)
    expect(decodeJwtPart(stranger.token, 1)).toMatchObject({ iss: instances.eddsa, aud: instances.eddsa })
    await expectProblem(await me(stranger.token, jwksMode(instances.eddsa)), 401)
  })

  it('refuses a token Better Auth signed for another audience or issuer', async () => {
    const user = await signUp(instances.eddsa)
    const env = jwksMode(instances.eddsa)
    const signed = async (overrideOptions: unknown) => {
      const res = await fetch(`${instances.eddsa}/__test/sign-jwt`, {
        method: 'POST',
        body: JSON.stringify({ payload: { sub: user.id, email: user.email }, overrideOptions }),
      })
      return (await res.json<{ token: string }>()).token
    }
    expect((await me(await signed(undefined), env)).status).toBe(200)
    await expectProblem(await me(await signed({ jwt: { audience: 'https://another-api.example.com' } }), env), 401)
    await expectProblem(await me(await signed({ jwt: { issuer: 'https://another-auth.example.com' } }), env), 401)
  })
})

describe('every algorithm Better Auth can publish', () => {
  for (const [name, alg] of [
    ['eddsa', 'EdDSA'],
    ['es256', 'ES256'],
    ['es512', 'ES512'],
    ['rs256', 'RS256'],
    ['ps256', 'PS256'],
  ] as const) {
    it(`accepts ${alg} tokens`, async () => {
      const base = instances[name]
      const user = await signUp(base)
      expect(decodeJwtPart(user.token, 0).alg).toBe(alg)
      const res = await me(user.token, jwksMode(base))
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ sub: user.id })
    })
  }

  it("uses a key only for its own algorithm's key type", async () => {
    const eddsaUser = await signUp(instances.eddsa)
    const rsaUser = await signUp(instances.rs256)
    const [, payload, signature] = eddsaUser.token.split('.')
    const relabel = (token: string, alg: string) => {
      const header = decodeJwtPart(token, 0)
      return `${base64url(JSON.stringify({ ...header, alg }))}.${token.split('.').slice(1).join('.')}`
    }
    for (const alg of ['ES256', 'RS256', 'PS256', 'ES512']) {
      await expectProblem(await me(relabel(eddsaUser.token, alg), jwksMode(instances.eddsa)), 401)
    }
    // An RS256 key (published with alg RS256) is never used for PS256.
    await expectProblem(await me(relabel(rsaUser.token, 'PS256'), jwksMode(instances.rs256)), 401)
    expect(payload && signature).toBeTruthy()
  })
})

describe('algorithm confusion and key injection', () => {
  it('never checks an HS256 token against a public key, even with both modes on', async () => {
    const user = await signUp(instances.eddsa)
    const { keys } = await (await fetch(`${instances.eddsa}/api/auth/jwks`)).json<{
      keys: { kid: string; x: string }[]
    }>()
    const [{ kid, x }] = keys as [{ kid: string; x: string }]
    const payload = {
      sub: user.id,
      iss: instances.eddsa,
      aud: instances.eddsa,
      exp: Math.floor(Date.now() / 1000) + 600,
    }
    // The classic confusion: HMAC keyed with the public key's bytes, pointing at its kid.
    const forged = await signJwt(payload, { secret: x, header: { alg: 'HS256', typ: 'JWT', kid } })
    await expectProblem(await me(forged, jwksMode(instances.eddsa)), 401)
    await expectProblem(await me(forged, jwksMode(instances.eddsa, { BETTER_AUTH_SECRET: SHARED_SECRET })), 401)
  })

  it('refuses HS256 tokens when no secret is configured', async () => {
    const token = await signJwt({
      sub: 'x',
      iss: instances.eddsa,
      aud: instances.eddsa,
      exp: Math.floor(Date.now() / 1000) + 600,
    })
    await expectProblem(await me(token, jwksMode(instances.eddsa)), 401)
  })

  it('ignores keys a token brings along (jwk, jku, x5u, x5c) and refuses it', async () => {
    const { publicKey, privateKey } = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair
    const jwk = await crypto.subtle.exportKey('jwk', publicKey)
    const user = await signUp(instances.eddsa)
    const realKid = decodeJwtPart(user.token, 0).kid
    const payload = {
      sub: 'attacker',
      iss: instances.eddsa,
      aud: instances.eddsa,
      exp: Math.floor(Date.now() / 1000) + 600,
    }
    for (const extra of [
      { jwk },
      { jku: `${instances.impostor}/api/auth/jwks` },
      { x5u: 'https://evil.example/cert' },
      { x5c: ['MIIB'] },
    ]) {
      const header = { alg: 'EdDSA', typ: 'JWT', kid: realKid, ...extra }
      const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`
      const signature = await crypto.subtle.sign('Ed25519', privateKey, new TextEncoder().encode(input))
      await expectProblem(await me(`${input}.${base64url(signature)}`, jwksMode(instances.eddsa)), 401)
    }
  })

  it('refuses a token without a kid', async () => {
    const user = await signUp(instances.eddsa)
    const header = { ...decodeJwtPart(user.token, 0) }
    delete header.kid
    const token = `${base64url(JSON.stringify(header))}.${user.token.split('.').slice(1).join('.')}`
    await expectProblem(await me(token, jwksMode(instances.eddsa)), 401)
  })
})

describe('the key set cache', () => {
  it('fetches the key set at most once per 10 minutes for a busy isolate', async () => {
    const user = await signUp(instances.eddsa)
    const env = jwksMode(instances.eddsa)
    const before = await jwksFetches(instances.eddsa)
    for (let i = 0; i < 20; i++) expect((await me(user.token, env)).status).toBe(200)
    expect(await jwksFetches(instances.eddsa)).toBe(before + 1)
    advanceClock(9 * 60_000)
    expect((await me(user.token, env)).status).toBe(200)
    expect(await jwksFetches(instances.eddsa)).toBe(before + 1)
    vi.restoreAllMocks()
    advanceClock(10 * 60_000 + 1000)
    expect((await me(user.token, env)).status).toBe(200)
    expect(await jwksFetches(instances.eddsa)).toBe(before + 2)
  })

  it('refetches for unknown kids only within their own budget, however many arrive', async () => {
    const env = jwksMode(instances.eddsa)
    const forged = (kid: string) =>
      `${base64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid }))}.${base64url(JSON.stringify({ sub: 'x' }))}.${base64url('sig')}`
    const before = await jwksFetches(instances.eddsa)
    for (let i = 0; i < 50; i++) await expectProblem(await me(forged(crypto.randomUUID()), env), 401)
    // The first fetch, then the unknown-kid burst.
    expect(await jwksFetches(instances.eddsa)).toBe(before + 1 + UNKNOWN_KID_BURST)
    advanceClock(UNKNOWN_KID_REFILL_MS)
    for (let i = 0; i < 50; i++) await expectProblem(await me(forged(crypto.randomUUID()), env), 401)
    expect(await jwksFetches(instances.eddsa)).toBe(before + 2 + UNKNOWN_KID_BURST)
  })

  it('follows key rotation: new tokens work once refetched, old ones until they expire', async () => {
    const base = instances.rotating
    const env = jwksMode(base)
    const user = await signUp(base)
    const oldToken = user.token
    expect((await me(oldToken, env)).status).toBe(200)

    await fetch(`${base}/__test/expire-signing-keys`, { method: 'POST' })
    const newToken = await tokenFrom(base, user.cookie)
    expect(decodeJwtPart(newToken, 0).kid).not.toBe(decodeJwtPart(oldToken, 0).kid)

    // Moments after the last fetch, one refetch picks the new key up; the old key is still published.
    const fetches = await jwksFetches(base)
    expect((await me(newToken, env)).status).toBe(200)
    expect((await me(oldToken, env)).status).toBe(200)
    expect(await jwksFetches(base)).toBe(fetches + 1)
  })

  it('answers 503 with Retry-After when the key set cannot be fetched and nothing is cached', async () => {
    const base = instances.rotating
    const user = await signUp(base)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    await fetch(`${base}/__test/jwks-outage?on=1`, { method: 'POST' })
    try {
      for (const jwksUrl of [
        `${base}/api/auth/jwks`, // answers 503
        `${base}/__test/stats`, // answers, but not with a key set
        `${base}/__test/nope`, // 404
      ]) {
        const res = await me(user.token, jwksMode(base, { JWKS_URL: `${jwksUrl}?isolate=${crypto.randomUUID()}` }))
        const problem = await expectProblem(res, 503)
        expect(problem.type).toBe('/problems/service-unavailable')
        expect(res.headers.get('Retry-After')).toBe('5')
      }
      // While nothing is cached, failures are not retried for 5 s: an outage is not hammered.
      const env = jwksMode(base)
      const before = await jwksFetches(base)
      for (let i = 0; i < 10; i++) await expectProblem(await me(user.token, env), 503)
      expect(await jwksFetches(base)).toBe(before + 1)
    } finally {
      await fetch(`${base}/__test/jwks-outage?on=0`, { method: 'POST' })
    }
    expect(warn).toHaveBeenCalledTimes(4)
  })

  it('times out a key set fetch that never answers', async () => {
    const user = await signUp(instances.eddsa)
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const started = performance.now()
    const res = await me(user.token, jwksMode(instances.eddsa, { JWKS_URL: `${instances.eddsa}/__test/hang` }))
    await expectProblem(res, 503)
    // The server answers only after 12 s; the worker gives up after 3.
    expect(performance.now() - started).toBeLessThan(6_000)
  })

  it('keeps serving from the cached key set while the identity provider is down', async () => {
    const base = instances.rotating
    const user = await signUp(base)
    const env = jwksMode(base)
    expect((await me(user.token, env)).status).toBe(200)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    await fetch(`${base}/__test/jwks-outage?on=1`, { method: 'POST' })
    try {
      advanceClock(11 * 60_000)
      const fetches = await jwksFetches(base)
      expect((await me(user.token, env)).status).toBe(200)
      expect(await jwksFetches(base)).toBe(fetches + 1)
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('JWKS fetch failed'))
    } finally {
      await fetch(`${base}/__test/jwks-outage?on=0`, { method: 'POST' })
    }
  })
})

describe('shared-secret mode (jwt.sign signing HS256)', () => {
  const sharedMode = (extra: Partial<Env> = {}): Partial<Env> => ({
    BETTER_AUTH_SECRET: SHARED_SECRET,
    JWT_ISSUER: instances.shared,
    JWT_AUDIENCE: instances.shared,
    ...extra,
  })

  it("accepts Better Auth's tokens and scopes tasks by their sub", async () => {
    const user = await signUp(instances.shared)
    expect(decodeJwtPart(user.token, 0)).toMatchObject({ alg: 'HS256' })
    expect(decodeJwtPart(user.token, 1)).toMatchObject({ sub: user.id, iss: instances.shared, aud: instances.shared })
    const res = await me(user.token, sharedMode())
    expect(await res.json()).toEqual({ sub: user.id, email: user.email, name: 'Test User' })
    const created = await request('/tasks', {
      method: 'POST',
      token: user.token,
      env: sharedMode(),
      body: { title: 'x' },
    })
    expect(created.status).toBe(201)
  })

  it("refuses Better Auth's other HS256 tokens signed with the same secret", async () => {
    const user = await signUp(instances.shared)
    const verification = await (
      await fetch(`${instances.shared}/__test/verification-token?email=${encodeURIComponent(user.email)}`)
    ).json<{ token: string | null }>()
    const cookieCache = user.setCookies
      .find((c) => c.startsWith('better-auth.session_data='))
      ?.split(';')[0]
      ?.split('=')[1]
    const others = { 'email verification': verification.token, 'cookie cache': cookieCache }
    for (const [what, token] of Object.entries(others)) {
      expect(token, what).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
      expect(decodeJwtPart(token!, 0).alg, what).toBe('HS256')
      // Refused with the recommended iss/aud checks, and even without them (they carry no sub).
      await expectProblem(await me(token!, sharedMode()), 401)
      await expectProblem(await me(token!, sharedMode({ JWT_ISSUER: '', JWT_AUDIENCE: '' })), 401)
    }
  })
})

describe('both modes at once', () => {
  it('accepts HS256 tokens with the secret and EdDSA tokens with the JWKS, and nothing else', async () => {
    const env = jwksMode(instances.eddsa, { BETTER_AUTH_SECRET: SHARED_SECRET })
    const asymmetric = await signUp(instances.eddsa)
    const exp = Math.floor(Date.now() / 1000) + 600
    const symmetric = await signJwt(
      { sub: 'hs-user', iss: instances.eddsa, aud: instances.eddsa, exp },
      { secret: SHARED_SECRET },
    )
    expect((await me(asymmetric.token, env)).status).toBe(200)
    expect((await me(symmetric, env)).status).toBe(200)
    const hs512 = await signJwt(
      { sub: 'hs-user', iss: instances.eddsa, aud: instances.eddsa, exp },
      { secret: SHARED_SECRET, alg: 'HS512' },
    )
    await expectProblem(await me(hs512, env), 401)
  })
})
