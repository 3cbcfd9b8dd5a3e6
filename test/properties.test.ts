/**
 * Property-based attacks (fast-check). Each property states what must hold for every input; the
 * counts below are the runs per property (seeds are printed by fast-check on failure).
 */
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Task } from '../src/tasks/model'
import type { ChangesPage } from '../src/tasks/sync'
import { base64url, fromBase64url, nowSeconds, request, signIn, signJwt } from './helpers'

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

interface Model {
  /** Task id -> owner index and the task as the API last returned it. */
  tasks: Map<string, { owner: 0 | 1; task: Task }>
  /** Ids ever created, so commands can aim at deleted and foreign tasks too. */
  ids: string[]
  /** Each user's synced copy (GET /tasks/changes) and its token. */
  devices: [Device, Device]
}

interface Device {
  tasks: Map<string, Task>
  token: string | undefined
}

type Real = { users: [Awaited<ReturnType<typeof signIn>>, Awaited<ReturnType<typeof signIn>>] }

const who = fc.constantFrom(0 as const, 1 as const)
const pick = fc.nat()
const fields = fc.record(
  {
    title: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim().length > 0),
    completed: fc.boolean(),
    priority: fc.constantFrom('low' as const, 'medium' as const, 'high' as const),
  },
  { requiredKeys: [] },
)

/** What the API must answer for `actor` touching `id`: the owner gets through, anyone else 403, no task 404. */
function expectedAccess(model: Model, actor: 0 | 1, id: string | undefined) {
  const entry = id === undefined ? undefined : model.tasks.get(id)
  if (!entry) return 404
  return entry.owner === actor ? 'ok' : 403
}

const REFUSALS = {
  403: ['forbidden', 'Forbidden', 'This task belongs to another user.'],
  404: ['not-found', 'Not found', 'No task has this id.'],
  412: [
    'precondition-failed',
    'Precondition failed',
    'The task has changed since the version your If-Match or If-None-Match names. Fetch it again, then reapply your change.',
  ],
} as const

/** A refusal is exactly the fixed problem document: no field of the task can be in it. */
async function expectRefusal(res: Response, status: keyof typeof REFUSALS) {
  expect(res.status).toBe(status)
  const [slug, title, detail] = REFUSALS[status]
  expect(res.headers.get('ETag')).toBeNull()
  expect(await res.json()).toEqual({
    type: `/problems/${slug}`,
    title,
    status,
    detail,
    requestId: res.headers.get('X-Request-Id'),
  })
}

const target = (model: Model, n: number) =>
  (model.ids.length ? model.ids[n % model.ids.length] : undefined) ?? crypto.randomUUID()

class Create implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly actor: 0 | 1,
    readonly title: string,
  ) {}
  check = () => true
  async run(model: Model, real: Real) {
    const res = await real.users[this.actor].request('/tasks', { method: 'POST', body: { title: this.title } })
    expect(res.status).toBe(201)
    const task = await res.json<Task>()
    model.tasks.set(task.id, { owner: this.actor, task })
    model.ids.push(task.id)
  }
  toString = () => `Create(${this.actor}, ${JSON.stringify(this.title)})`
}

class Patch implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly actor: 0 | 1,
    readonly n: number,
    readonly changes: Record<string, unknown>,
  ) {}
  check = () => true
  async run(model: Model, real: Real) {
    const id = target(model, this.n)
    const changes = Object.keys(this.changes).length ? this.changes : { completed: true }
    const res = await real.users[this.actor].request(`/tasks/${id}`, { method: 'PATCH', body: changes })
    const expected = expectedAccess(model, this.actor, id)
    if (expected === 'ok') {
      expect(res.status).toBe(200)
      const task = await res.json<Task>()
      expect(task).toMatchObject({
        ...changes,
        ...(typeof changes.title === 'string' && { title: changes.title.trim() }),
      })
      expect(task.version).toBe(model.tasks.get(id)!.task.version + 1)
      model.tasks.set(id, { owner: this.actor, task })
    } else {
      await expectRefusal(res, expected)
    }
  }
  toString = () => `Patch(${this.actor}, #${this.n}, ${JSON.stringify(this.changes)})`
}

/**
 * A PATCH with If-Match: the current version (`offset` 0) or another. The owner gets 200 or 412;
 * anyone else 403 and no task 404, whatever the version: a 412 would tell them it exists.
 */
class ConditionalPatch implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly actor: 0 | 1,
    readonly n: number,
    readonly offset: number,
  ) {}
  check = () => true
  async run(model: Model, real: Real) {
    const id = target(model, this.n)
    const entry = model.tasks.get(id)
    const version = Math.max(1, (entry?.task.version ?? 1) + this.offset)
    const res = await real.users[this.actor].request(`/tasks/${id}`, {
      method: 'PATCH',
      headers: { 'If-Match': `"v${version}"` },
      body: { description: `at v${version}` },
    })
    const expected = expectedAccess(model, this.actor, id)
    if (expected !== 'ok') return expectRefusal(res, expected)
    if (version !== entry!.task.version) return expectRefusal(res, 412)
    expect(res.status).toBe(200)
    const task = await res.json<Task>()
    expect(task).toMatchObject({ version: version + 1, description: `at v${version}` })
    expect(res.headers.get('ETag')).toBe(`"v${version + 1}"`)
    model.tasks.set(id, { owner: this.actor, task })
  }
  toString = () => `ConditionalPatch(${this.actor}, #${this.n}, ${this.offset})`
}

/** Syncs the actor's device through GET /tasks/changes: it must then hold exactly the actor's tasks. */
class Sync implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly actor: 0 | 1,
    readonly limit: number,
  ) {}
  check = () => true
  async run(model: Model, real: Real) {
    const device = model.devices[this.actor]
    for (let hasMore = true; hasMore; ) {
      const since = device.token ? `&since=${device.token}` : ''
      const res = await real.users[this.actor].request(`/tasks/changes?limit=${this.limit}${since}`)
      expect(res.status).toBe(200)
      const page = await res.json<ChangesPage>()
      for (const task of page.tasks) device.tasks.set(task.id, task)
      for (const id of page.deleted) device.tasks.delete(id)
      device.token = page.token
      hasMore = page.hasMore
    }
    const mine = [...model.tasks].filter(([, e]) => e.owner === this.actor).map(([id, e]) => [id, e.task] as const)
    expect(device.tasks).toEqual(new Map(mine))
  }
  toString = () => `Sync(${this.actor}, limit ${this.limit})`
}

class Delete implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly actor: 0 | 1,
    readonly n: number,
  ) {}
  check = () => true
  async run(model: Model, real: Real) {
    const id = target(model, this.n)
    const res = await real.users[this.actor].request(`/tasks/${id}`, { method: 'DELETE' })
    const expected = expectedAccess(model, this.actor, id)
    if (expected === 'ok') {
      expect(res.status).toBe(204)
      model.tasks.delete(id)
    } else {
      await expectRefusal(res, expected)
    }
  }
  toString = () => `Delete(${this.actor}, #${this.n})`
}

class Read implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly actor: 0 | 1,
    readonly n: number,
  ) {}
  check = () => true
  async run(model: Model, real: Real) {
    const id = target(model, this.n)
    const res = await real.users[this.actor].request(`/tasks/${id}`)
    const expected = expectedAccess(model, this.actor, id)
    if (expected === 'ok') expect(await res.json()).toEqual(model.tasks.get(id)!.task)
    else await expectRefusal(res, expected)
  }
  toString = () => `Read(${this.actor}, #${this.n})`
}

class List implements fc.AsyncCommand<Model, Real> {
  constructor(readonly actor: 0 | 1) {}
  check = () => true
  async run(model: Model, real: Real) {
    const res = await real.users[this.actor].request('/tasks?limit=100')
    const { items } = await res.json<{ items: Task[] }>()
    const mine = [...model.tasks.values()].filter((e) => e.owner === this.actor).map((e) => e.task)
    expect(new Set(items.map((t) => t.id))).toEqual(new Set(mine.map((t) => t.id)))
  }
  toString = () => `List(${this.actor})`
}

describe('two users, interleaved', { timeout: PROPERTY_TIMEOUT_MS }, () => {
  it("never lets one user change or see the other's tasks, and D1 always matches the model", async () => {
    const commands = [
      fc
        .tuple(
          who,
          fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim().length > 0),
        )
        .map(([a, t]) => new Create(a, t)),
      fc.tuple(who, pick, fields).map(([a, n, f]) => new Patch(a, n, f)),
      fc.tuple(who, pick).map(([a, n]) => new Delete(a, n)),
      fc.tuple(who, pick).map(([a, n]) => new Read(a, n)),
      who.map((a) => new List(a)),
      fc.tuple(who, pick, fc.constantFrom(0, 0, -1, 1)).map(([a, n, o]) => new ConditionalPatch(a, n, o)),
      fc.tuple(who, fc.integer({ min: 1, max: 3 })).map(([a, l]) => new Sync(a, l)),
    ]
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (cmds) => {
        const real: Real = { users: [await signIn(), await signIn()] }
        const device = (): Device => ({ tasks: new Map(), token: undefined })
        const model: Model = { tasks: new Map(), ids: [], devices: [device(), device()] }
        await fc.asyncModelRun(() => ({ model, real }), cmds)
        // The stored state is exactly the model: same rows, same owners, same contents.
        const { results } = await env.DB.prepare(
          'SELECT id, user_id, title, completed, version FROM tasks WHERE user_id IN (?1, ?2)',
        )
          .bind(real.users[0].id, real.users[1].id)
          .all<{ id: string; user_id: string; title: string; completed: number; version: number }>()
        const stored = Object.fromEntries(
          results.map((r) => [r.id, [r.user_id, r.title, r.completed === 1, r.version]]),
        )
        const expected = Object.fromEntries(
          [...model.tasks].map(([id, e]) => [
            id,
            [real.users[e.owner].id, e.task.title, e.task.completed, e.task.version],
          ]),
        )
        expect(stored).toEqual(expected)
      }),
      { numRuns: 40 },
    )
  })
})
