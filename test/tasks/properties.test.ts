import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { base64url, fromBase64url, nowSeconds, request, signIn, signJwt } from '../helpers'

const RUNS = 150
// Hundreds of requests per property: on a loaded 2-core machine that is well past vitest's 5 s.
const PROPERTY_TIMEOUT_MS = 120_000

describe('tokens', { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it('never accepts a token that is not exactly as signed, and never answers 5xx', async () => {
    const user = await signIn()
    const parts = user.token.split('.') as [string, string, string]
    const original = parts.map(fromBase64url)
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (part, at, bit) => {
          // Flip one bit of the decoded bytes and re-encode canonically: the token now says
          // something its signature does not cover.
          const bytes = original[part]!.slice()
          bytes[at % bytes.length]! ^= 1 << bit
          const mutated = parts.map((p, i) => (i === part ? base64url(bytes) : p)).join('.')
          const res = await request('/me', { token: mutated })
          expect(res.status).toBe(401)
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('refuses tokens with random headers and claims unless they are validly signed and well-formed', async () => {
    // Weighted towards nearly valid tokens, so that each single defect is tried often.
    const mostly = <T, U>(likely: fc.Arbitrary<T>, other: fc.Arbitrary<U>) =>
      fc.oneof({ weight: 3, arbitrary: likely }, { weight: 1, arbitrary: other })
    const anyValue = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 2 }),
    )
    // Whole seconds around now, away from the skew boundaries (±60 s) where a clock tick could flip the answer.
    const time = mostly(
      fc
        .integer({ min: -7200, max: 7200 })
        .filter((d) => Math.abs(Math.abs(d) - 60) > 2)
        .map((d) => nowSeconds() + d),
      anyValue,
    )
    await fc.assert(
      fc.asyncProperty(
        // Mostly a header object; sometimes any JSON at all (null, a number, an array).
        mostly(
          fc.record(
            {
              alg: mostly(
                fc.constant('HS256'),
                fc.constantFrom('HS384', 'HS512', 'none', 'RS256', 'ES256', 'EdDSA', 'PS256', 'hs256', ''),
              ),
              typ: fc.option(fc.constantFrom('JWT', 'jwt', 'JWS', 'at+jwt'), { nil: undefined }),
            },
            { requiredKeys: ['alg'] },
          ),
          fc.jsonValue(),
        ),
        fc.record(
          { sub: mostly(fc.string({ minLength: 1, maxLength: 300 }), anyValue), exp: time, nbf: time, iat: time },
          { requiredKeys: [] },
        ),
        mostly(fc.constant(true), fc.constant(false)),
        async (header, claims, rightSecret) => {
          const token = await signJwt(claims, {
            header: header as Record<string, unknown>,
            ...(!rightSecret && { secret: 'a-different-secret-that-is-long-enough-0000' }),
          })
          const res = await request('/me', { token })
          expect(res.status).toBeLessThan(500)
          const now = Date.now() / 1000
          const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
          const { alg, typ } = (
            typeof header === 'object' && header !== null && !Array.isArray(header) ? header : {}
          ) as {
            alg?: unknown
            typ?: unknown
          }
          const wellFormed =
            alg === 'HS256' &&
            (typ === undefined || (typeof typ === 'string' && typ.toUpperCase() === 'JWT')) &&
            typeof claims.sub === 'string' &&
            claims.sub.length > 0 &&
            claims.sub.length <= 255 &&
            isTime(claims.exp) &&
            now < claims.exp + 60 &&
            (claims.nbf === undefined || (isTime(claims.nbf) && claims.nbf <= now + 60)) &&
            (claims.iat === undefined || (isTime(claims.iat) && claims.iat <= now + 60))
          expect(res.status).toBe(rightSecret && wellFormed ? 200 : 401)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('inputs', { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it('answers any JSON body with 2xx or a 4xx problem, never 5xx', async () => {
    const user = await signIn()
    const task = await user.createTask()
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          title: fc.oneof(fc.string({ maxLength: 250 }), fc.jsonValue()),
          description: fc.oneof(fc.string({ maxLength: 1100 }), fc.jsonValue()),
          completed: fc.jsonValue(),
          priority: fc.oneof(fc.constantFrom('low', 'medium', 'high'), fc.jsonValue()),
          dueAt: fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.string(),
            fc.jsonValue(),
          ),
          tags: fc.oneof(fc.array(fc.string({ maxLength: 40 }), { maxLength: 12 }), fc.jsonValue()),
          user_id: fc.string(),
        },
        { requiredKeys: [] },
      ),
    )
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('POST /tasks', 'PATCH', 'PUT'), body, async (route, value) => {
        const [method, path] = route === 'POST /tasks' ? ['POST', '/tasks'] : [route, `/tasks/${task.id}`]
        const res = await user.request(path, { method, body: JSON.stringify(value) })
        expect([200, 201, 400]).toContain(res.status)
        if (res.status >= 400) expect(res.headers.get('Content-Type')).toBe('application/problem+json')
      }),
      { numRuns: RUNS },
    )
  })

  it('answers any path and query with a 4xx at worst, never 5xx', async () => {
    const user = await signIn()
    const segment = fc.oneof(fc.uuid(), fc.string(), fc.constantFrom('tasks', '..', '%00', "' OR 1=1 --"))
    const query = fc.dictionary(fc.constantFrom('limit', 'cursor', 'completed', 'user_id', 'sort', 'x'), fc.string(), {
      maxKeys: 3,
    })
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'DELETE', 'PATCH'), segment, query, async (method, id, params) => {
        const qs = new URLSearchParams(params).toString()
        const res = await user.request(`/tasks/${encodeURIComponent(id)}${qs ? `?${qs}` : ''}`, {
          method,
          ...(method === 'PATCH' && { body: { title: 'x' } }),
        })
        expect(res.status).toBeGreaterThanOrEqual(200)
        expect(res.status).toBeLessThan(500)
        const list = await user.request(`/tasks${qs ? `?${qs}` : ''}`)
        expect([200, 400]).toContain(list.status)
      }),
      { numRuns: RUNS },
    )
  })
})

// ---- Two users, random interleavings, checked against an in-memory model -------------------
