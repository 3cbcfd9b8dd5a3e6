import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import worker from '../../src/index'
import type { Task } from '../../src/tasks/model'
import {
  base64url,
  countingDb,
  expectProblem,
  feed,
  fromBase64url,
  invalidNames,
  request,
  type SignedIn,
  signIn,
} from '../helpers'

let user: SignedIn
beforeEach(async () => {
  user = await signIn()
})

const patch = (who: SignedIn, id: string, body: unknown) => who.request(`/tasks/${id}`, { method: 'PATCH', body })
const remove = (who: SignedIn, id: string) => who.request(`/tasks/${id}`, { method: 'DELETE' })

/** A client's local copy: what it has synced, and the token to sync on from. */
class Device {
  tasks = new Map<string, Task>()
  token: string | undefined
  constructor(
    readonly who: SignedIn,
    readonly pageSize = 2,
  ) {}

  /** The client algorithm of docs/sync.md: pages until hasMore is false, upserting tasks and dropping deleted ids. */
  async sync() {
    for (let pages = 0; pages < 100; pages++) {
      const page = await feed(this.who, this.token, this.pageSize)
      for (const task of page.tasks) this.tasks.set(task.id, task)
      for (const id of page.deleted) this.tasks.delete(id)
      this.token = page.token
      if (!page.hasMore) return
    }
    throw new Error('the feed never ended')
  }

  /** A conditional PATCH from the local copy; on 412, refetch the task and reapply the change once. */
  async edit(id: string, change: Partial<Task>): Promise<number[]> {
    const statuses: number[] = []
    for (let attempt = 0; attempt < 2; attempt++) {
      const local = this.tasks.get(id)!
      const res = await this.who.request(`/tasks/${id}`, {
        method: 'PATCH',
        headers: { 'If-Match': `"v${local.version}"` },
        body: change,
      })
      statuses.push(res.status)
      if (res.status === 200) {
        const task = await res.json<Task>()
        expect(res.headers.get('ETag')).toBe(`"v${task.version}"`)
        this.tasks.set(id, task)
        return statuses
      }
      if (res.status !== 412) return statuses
      const fresh = await this.who.request(`/tasks/${id}`)
      this.tasks.set(id, await fresh.json<Task>())
    }
    return statuses
  }
}

/** Every task of the user, by walking GET /tasks page by page. */
async function serverState(who: SignedIn): Promise<Map<string, Task>> {
  const all = new Map<string, Task>()
  let cursor: string | null = null
  do {
    const res = await who.request(`/tasks?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    const page: { items: Task[]; nextCursor: string | null } = await res.json()
    for (const task of page.items) all.set(task.id, task)
    cursor = page.nextCursor
  } while (cursor)
  return all
}

/** id -> [version, title, completed] as D1 holds them. */
async function storedState(userId: string) {
  const { results } = await env.DB.prepare('SELECT id, version, title, completed FROM tasks WHERE user_id = ?1')
    .bind(userId)
    .all<{ id: string; version: number; title: string; completed: number }>()
  return Object.fromEntries(results.map((r) => [r.id, [r.version, r.title, r.completed === 1]]))
}
const summary = (tasks: Map<string, Task>) =>
  Object.fromEntries([...tasks.values()].map((t) => [t.id, [t.version, t.title, t.completed]]))

/** The token's fields, so tests can forge one that differs from a real one in one respect only. */
const tokenFields = (token: string) =>
  JSON.parse(new TextDecoder().decode(fromBase64url(token))) as { a: number; t: number; u: string }
const forge = (fields: unknown) => base64url(JSON.stringify(fields))

describe('GET /tasks/changes from the beginning', () => {
  it('returns every live task, oldest change first, no deletions, and a token', async () => {
    const first = await user.createTask({ title: 'first' })
    const gone = await user.createTask({ title: 'gone' })
    const second = await user.createTask({ title: 'second' })
    await remove(user, gone.id)
    const page = await feed(user)
    expect(page).toEqual({ tasks: [first, second], deleted: [], token: expect.any(String), hasMore: false })
  })

  it('pages with limit and hasMore, and the pages add up to every task once', async () => {
    const created = []
    for (let i = 0; i < 7; i++) created.push(await user.createTask({ title: `t${i}` }))
    const sizes: number[] = []
    const seen: string[] = []
    let token: string | undefined
    for (;;) {
      const page = await feed(user, token, 3)
      sizes.push(page.tasks.length)
      seen.push(...page.tasks.map((t) => t.id))
      token = page.token
      if (!page.hasMore) break
    }
    expect(sizes).toEqual([3, 3, 1])
    expect(seen).toEqual(created.map((t) => t.id))
    expect(await feed(user, token)).toMatchObject({ tasks: [], deleted: [], hasMore: false })
  })

  it('is empty for a user with no tasks', async () => {
    expect(await feed(user)).toMatchObject({ tasks: [], deleted: [], hasMore: false })
  })
})

describe('GET /tasks/changes?since=', () => {
  it('returns tasks created or changed since, each once in its current state, and ids deleted since', async () => {
    const kept = await user.createTask({ title: 'kept' })
    const changed = await user.createTask({ title: 'changed' })
    const deleted = await user.createTask({ title: 'deleted' })
    const { token } = await feed(user)

    await patch(user, changed.id, { title: 'changed once' })
    await patch(user, changed.id, { title: 'changed twice' })
    await remove(user, deleted.id)
    const created = await user.createTask({ title: 'created' })
    const createdThenDeleted = await user.createTask({ title: 'brief' })
    await remove(user, createdThenDeleted.id)

    const page = await feed(user, token)
    expect(page.tasks.map((t) => [t.title, t.version])).toEqual([
      ['changed twice', 3],
      ['created', 1],
    ])
    expect(page.tasks[1]).toEqual(created)
    expect(page.deleted).toEqual([deleted.id, createdThenDeleted.id])
    expect(page.tasks.map((t) => t.id)).not.toContain(kept.id)
    expect(page.hasMore).toBe(false)
    expect(await feed(user, page.token)).toMatchObject({ tasks: [], deleted: [], hasMore: false })
  })

  it('reports a bulk delete as deletions', async () => {
    const done = await user.createTask({ completed: true })
    const open = await user.createTask()
    const { token } = await feed(user)
    await user.request('/tasks?completed=true', { method: 'DELETE' })
    expect(await feed(user, token)).toMatchObject({ tasks: [], deleted: [done.id] })
    expect((await feed(user)).tasks.map((t) => t.id)).toEqual([open.id])
  })

  it('interleaves tasks and deletions in order across pages', async () => {
    const tasks = []
    for (let i = 0; i < 4; i++) tasks.push(await user.createTask({ title: `t${i}` }))
    const { token } = await feed(user)
    await remove(user, tasks[0]!.id)
    await patch(user, tasks[1]!.id, { completed: true })
    await remove(user, tasks[2]!.id)
    await patch(user, tasks[3]!.id, { completed: true })
    const first = await feed(user, token, 3)
    expect(first).toMatchObject({ tasks: [{ id: tasks[1]!.id }], deleted: [tasks[0]!.id, tasks[2]!.id], hasMore: true })
    const second = await feed(user, first.token, 3)
    expect(second).toMatchObject({ tasks: [{ id: tasks[3]!.id }], deleted: [], hasMore: false })
  })

  it('keeps a walk from the beginning valid while tasks change under it', async () => {
    const a = await user.createTask({ title: 'a' })
    const b = await user.createTask({ title: 'b' })
    const c = await user.createTask({ title: 'c' })
    const device = new Device(user, 1)
    const page1 = await feed(user, undefined, 1)
    device.tasks.set(a.id, page1.tasks[0]!)
    device.token = page1.token
    // Between pages: the delivered task is deleted, an undelivered one too, and one is changed.
    await remove(user, a.id)
    await remove(user, b.id)
    await patch(user, c.id, { title: 'c2' })
    await device.sync()
    expect(summary(device.tasks)).toEqual(summary(await serverState(user)))
    expect([...device.tasks.keys()]).toEqual([c.id])
  })

  it('costs one D1 round trip', async () => {
    await user.createTask()
    const { token } = await feed(user)
    await user.createTask()
    for (const path of ['/tasks/changes', `/tasks/changes?since=${token}`]) {
      const { db, counter } = countingDb(env.DB)
      const res = await request(path, { token: user.token, env: { DB: db } })
      expect(res.status).toBe(200)
      expect(counter.roundTrips, path).toBe(1)
    }
  })
})

describe('sync tokens', () => {
  it('refuses garbage and forged tokens with 400 naming since', async () => {
    await user.createTask()
    const { token } = await feed(user)
    const { u } = tokenFields(token)
    for (const since of [
      'garbage',
      '',
      '!!!',
      'a'.repeat(600),
      forge(null),
      forge([1, 1, u]),
      forge({ a: -1, t: 0, u }),
      forge({ a: 1.5, t: 2, u }),
      forge({ a: 2, t: 1, u }), // tombstonesAfter below after
      forge({ a: '1', t: 1, u }),
      forge({ a: 2 ** 53, t: 2 ** 53, u }),
      forge({ a: 1, t: 1 }),
      forge({ a: 1, t: 1, u: 'x' }),
    ]) {
      const problem = await expectProblem(await user.request(`/tasks/changes?since=${encodeURIComponent(since)}`), 400)
      expect(invalidNames(problem), since).toEqual(['since'])
    }
  })

  it('refuses bad limits and unknown parameters', async () => {
    for (const [query, name] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['cursor=x', 'cursor'],
      ['user_id=x', 'user_id'],
      ['since=a&since=b', 'since'],
    ]) {
      expect(invalidNames(await expectProblem(await user.request(`/tasks/changes?${query}`), 400)), query).toEqual([
        name,
      ])
    }
  })

  it('never moves a token back when the database it reads is behind it', async () => {
    await user.createTask()
    const { token } = await feed(user)
    // A sequence starts where the user's first write was made (migrations/0007), so "ahead" is relative.
    const at = tokenFields(token).a + 1000
    const ahead = forge({ ...tokenFields(token), a: at, t: at })
    const page = await feed(user, ahead)
    expect(page).toMatchObject({ tasks: [], deleted: [], hasMore: false })
    expect(tokenFields(page.token)).toMatchObject({ a: at, t: at })
  })
})

describe('user B and the sync feed', () => {
  let b: SignedIn
  beforeEach(async () => {
    b = await signIn()
  })

  it("never shows B A's tasks or deletions", async () => {
    const bStart = await feed(b)
    const task = await user.createTask({ title: 'A secret plan' })
    await patch(user, task.id, { title: 'A secret plan, revised' })
    const doomed = await user.createTask()
    await remove(user, doomed.id)
    const mine = await b.createTask({ title: "B's own" })
    expect(await feed(b)).toMatchObject({ tasks: [mine], deleted: [] })
    const since = await feed(b, bStart.token)
    expect(since).toMatchObject({ tasks: [mine], deleted: [] })
    expect(JSON.stringify(since)).not.toContain(task.id)
  })

  it("refuses A's token to B with 400, whatever positions it holds", async () => {
    await user.createTask()
    const { token } = await feed(user)
    for (const since of [token, forge({ ...tokenFields(token), a: 0, t: 0 })]) {
      const problem = await expectProblem(await b.request(`/tasks/changes?since=${since}`), 400)
      expect(problem.errors).toEqual([
        { parameter: 'since', detail: 'was issued to another user; resync without since' },
      ])
    }
  })
})

describe('tombstone purge and expired tokens', () => {
  const DAY = 24 * 60 * 60 * 1000

  /** The worker's own scheduled handler, as the Cron Trigger calls it. */
  async function runScheduled(scheduledTime: number) {
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ scheduledTime, cron: '17 3 * * *' }), env, ctx)
    await waitOnExecutionContext(ctx)
  }
  const tombstones = async (userId: string) =>
    (
      await env.DB.prepare('SELECT id FROM task_tombstones WHERE user_id = ?1 ORDER BY seq')
        .bind(userId)
        .all<{ id: string }>()
    ).results.map((r) => r.id)
  const backdate = (id: string, days: number) =>
    env.DB.prepare('UPDATE task_tombstones SET deleted_at = ?2 WHERE id = ?1')
      .bind(id, new Date(Date.now() - days * DAY).toISOString())
      .run()

  it('purges tombstones older than 30 days, keeps fresh ones, and answers older tokens 410', async () => {
    const [old1, old2, fresh] = [await user.createTask(), await user.createTask(), await user.createTask()]
    const keeper = await user.createTask()
    const beforeAll = (await feed(user)).token
    await remove(user, old1.id)
    await remove(user, old2.id)
    const between = (await feed(user)).token // seen both old deletions
    await remove(user, fresh.id)
    await backdate(old1.id, 31)
    await backdate(old2.id, 30.5)

    await runScheduled(Date.now())
    expect(await tombstones(user.id)).toEqual([fresh.id])

    const expired = await expectProblem(await user.request(`/tasks/changes?since=${beforeAll}`), 410)
    expect(expired.type).toBe('/problems/sync-token-expired')
    // A token that had seen every purged deletion still gets the rest, exactly.
    expect(await feed(user, between)).toMatchObject({ tasks: [], deleted: [fresh.id], hasMore: false })
    // Resyncing from the beginning works, and so does its token.
    const resync = await feed(user)
    expect(resync.tasks.map((t) => t.id)).toEqual([keeper.id])
    expect(await feed(user, resync.token)).toMatchObject({ tasks: [], deleted: [] })
  })

  it("purges only what is old, for every user, and leaves other users' horizons alone", async () => {
    const b = await signIn()
    const aTask = await user.createTask()
    const bTask = await b.createTask()
    const aToken = (await feed(user)).token
    const bToken = (await feed(b)).token
    await remove(user, aTask.id)
    await remove(b, bTask.id)
    await backdate(aTask.id, 40)
    await runScheduled(Date.now())
    expect(await tombstones(user.id)).toEqual([])
    expect(await tombstones(b.id)).toEqual([bTask.id])
    await expectProblem(await user.request(`/tasks/changes?since=${aToken}`), 410)
    expect(await feed(b, bToken)).toMatchObject({ deleted: [bTask.id] })
  })

  it('keeps a walk from the beginning valid after a purge of older deletions', async () => {
    const early = await user.createTask()
    const later = [await user.createTask(), await user.createTask()]
    await remove(user, early.id)
    await backdate(early.id, 31)
    const device = new Device(user, 1)
    const page1 = await feed(user, undefined, 1)
    device.token = page1.token
    for (const t of page1.tasks) device.tasks.set(t.id, t)
    await runScheduled(Date.now())
    await device.sync()
    expect([...device.tasks.keys()]).toEqual(later.map((t) => t.id))
  })
})

describe('two devices of one user', () => {
  it('converge on the server state through conflicts, deletions and the sync feed', async () => {
    const seed = [
      await user.createTask({ title: 'shared' }),
      await user.createTask({ title: 'doomed' }),
      await user.createTask({ title: 'third' }),
    ]
    const [shared, doomed, third] = seed.map((t) => t.id) as [string, string, string]
    const laptop = new Device(user)
    const phone = new Device(user)
    await laptop.sync()
    await phone.sync()
    expect(summary(laptop.tasks)).toEqual(summary(phone.tasks))

    // Both edit the same task: the laptop wins, the phone's stale If-Match is refused, and it
    // refetches and reapplies its change on top.
    expect(await laptop.edit(shared, { title: 'laptop title' })).toEqual([200])
    expect(await phone.edit(shared, { completed: true })).toEqual([412, 200])
    expect(phone.tasks.get(shared)).toMatchObject({ title: 'laptop title', completed: true, version: 3 })

    // The phone deletes a task; the laptop, not knowing, tries to edit it.
    const del = await phone.who.request(`/tasks/${doomed}`, {
      method: 'DELETE',
      headers: { 'If-Match': `"v${phone.tasks.get(doomed)!.version}"` },
    })
    expect(del.status).toBe(204)
    phone.tasks.delete(doomed)
    expect(await laptop.edit(doomed, { title: 'too late' })).toEqual([404])

    // More edits on both sides.
    expect(await laptop.edit(third, { priority: 'high' })).toEqual([200])
    const created = await laptop.who.createTask({ title: 'from the laptop' })
    laptop.tasks.set(created.id, created)
    expect(await phone.edit(third, { title: 'third, renamed' })).toEqual([412, 200])

    await laptop.sync()
    await phone.sync()
    const server = await serverState(user)
    expect(summary(laptop.tasks)).toEqual(summary(server))
    expect(summary(phone.tasks)).toEqual(summary(server))
    expect(laptop.tasks).toEqual(server)
    expect(phone.tasks).toEqual(server)
    expect(summary(server)).toEqual(await storedState(user.id))
    expect(server.get(third)).toMatchObject({ title: 'third, renamed', priority: 'high', version: 3 })
    expect(server.has(doomed)).toBe(false)
  })
})
