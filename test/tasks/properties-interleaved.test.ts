/** Two users' requests interleaved at random (fast-check): each sees only its own tasks, and the other's are 403 or 404. */
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Task } from '../../src/tasks/model'
import type { ChangesPage } from '../../src/tasks/sync'
import { signIn } from '../helpers'

const _RUNS = 150
// Hundreds of requests per property: on a loaded 2-core machine that is well past vitest's 5 s.
const PROPERTY_TIMEOUT_MS = 120_000

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
