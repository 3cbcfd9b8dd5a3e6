import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import type { Task } from '../../src/tasks/model'
import { expectProblem, invalidNames, request, type SignedIn, signIn, storedTask } from '../helpers'
import { age, create, HOUR, recordsOf, snapshot, tasksOf } from './records'

describe('Idempotency-Key on POST /tasks', () => {
  it('replays the first 201 to a retry with the same key and body, and creates nothing more', async () => {
    const user = await signIn()
    const key = crypto.randomUUID()
    const first = await create(user, key, { title: 'Pay rent', tags: ['home'] })
    expect(first.headers.get('Idempotent-Replayed')).toBeNull()
    const original = await snapshot(first)
    expect(original.status).toBe(201)
    const task = JSON.parse(original.body) as Task
    expect(original.location).toBe(`/tasks/${task.id}`)

    for (let i = 0; i < 3; i++) {
      const retry = await create(user, key, { title: 'Pay rent', tags: ['home'] })
      expect(retry.headers.get('Idempotent-Replayed')).toBe('true')
      expect(await snapshot(retry)).toEqual(original)
    }
    expect(await tasksOf(user.id)).toEqual([task.id])
    expect(await recordsOf(user.id)).toEqual([
      expect.objectContaining({ key, task_id: task.id, status: 201, response_body: original.body }),
    ])
  })

  it('treats bodies that validate to the same task as the same request', async () => {
    const user = await signIn()
    const key = 'same-task'
    const first = await create(user, key, '{"title":"a"}')
    const { id } = await first.json<Task>()
    for (const body of [
      '{ "title" : "a" }',
      '{"title":"  a  "}',
      '{"priority":"medium","title":"a","tags":[],"completed":false,"description":"","dueAt":null}',
    ]) {
      const retry = await create(user, key, body)
      expect(retry.status, body).toBe(201)
      expect((await retry.json<Task>()).id, body).toBe(id)
    }
    expect(await tasksOf(user.id)).toEqual([id])
  })

  it('answers 422 and changes nothing when the key is reused with a different body', async () => {
    const user = await signIn()
    const key = 'reused'
    const task = await (await create(user, key, { title: 'First' })).json<Task>()
    const [before] = await recordsOf(user.id)
    for (const body of [
      { title: 'Second' },
      { title: 'First', description: 'more' },
      { title: 'First', completed: true },
      { title: 'First', priority: 'high' },
      { title: 'First', dueAt: '2027-01-01T00:00:00Z' },
      { title: 'First', tags: ['x'] },
    ]) {
      const problem = await expectProblem(await create(user, key, body), 422)
      expect(problem.type).toBe('/problems/idempotency-key-reused')
      expect(problem.detail).toMatch(/Idempotency-Key/)
    }
    expect(await tasksOf(user.id)).toEqual([task.id])
    expect(await recordsOf(user.id)).toEqual([before])
    expect(await storedTask(task.id)).toMatchObject({ title: 'First', completed: 0, tags: '[]' })
  })

  it("keeps keys per user: another user's identical key and body create their own task and never see the first response", async () => {
    const alice = await signIn()
    const bob = await signIn()
    const key = 'shared-looking-key'
    const alicesFirst = await snapshot(
      await create(alice, key, { title: 'Secret plan', description: 'for alice only' }),
    )
    const alicesTask = JSON.parse(alicesFirst.body) as Task

    const bobs = await create(bob, key, { title: 'Secret plan', description: 'for alice only' })
    expect(bobs.status).toBe(201)
    expect(bobs.headers.get('Idempotent-Replayed')).toBeNull()
    const bobsTask = await bobs.json<Task>()
    expect(bobsTask.id).not.toBe(alicesTask.id)
    expect(await storedTask(bobsTask.id)).toMatchObject({ user_id: bob.id })

    // A different body under the same key is no conflict either: Bob's key is not Alice's.
    const bobsOther = await create(bob, 'only-alice-used-this', { title: 'Other' })
    await create(alice, 'only-alice-used-this', { title: 'Alice' })
    expect(bobsOther.status).toBe(201)

    // Both replay their own, and Alice's record is untouched.
    expect(
      (await (await create(bob, key, { title: 'Secret plan', description: 'for alice only' })).json<Task>()).id,
    ).toBe(bobsTask.id)
    expect(await snapshot(await create(alice, key, { title: 'Secret plan', description: 'for alice only' }))).toEqual(
      alicesFirst,
    )
    expect((await tasksOf(alice.id)).sort()).toHaveLength(2)
    expect(await tasksOf(bob.id)).toHaveLength(2)
    expect((await recordsOf(alice.id)).find((r) => r.key === key)?.task_id).toBe(alicesTask.id)
  })

  it('creates exactly one task for 20 concurrent requests with one key, and answers every one with it', async () => {
    const user = await signIn()
    const key = crypto.randomUUID()
    const responses = await Promise.all(Array.from({ length: 20 }, () => create(user, key, { title: 'Only once' })))
    const snapshots = await Promise.all(responses.map(snapshot))
    expect(snapshots.map((s) => s.status)).toEqual(Array(20).fill(201))
    expect(new Set(snapshots.map((s) => s.body)).size).toBe(1)
    expect(responses.filter((r) => r.headers.get('Idempotent-Replayed') === 'true')).toHaveLength(19)
    const { id } = JSON.parse(snapshots[0]!.body) as Task
    expect(await tasksOf(user.id)).toEqual([id])
    expect(await recordsOf(user.id)).toHaveLength(1)
  })

  it('lets exactly one of concurrent different bodies with one key create, and answers the rest 422 or its replay', async () => {
    const user = await signIn()
    const key = crypto.randomUUID()
    const titles = Array.from({ length: 10 }, (_, i) => `title ${i % 3}`)
    const responses = await Promise.all(titles.map((title) => create(user, key, { title })))
    const [record] = await recordsOf(user.id)
    const winner = JSON.parse(record!.response_body) as Task
    for (const [i, res] of responses.entries()) {
      if (titles[i] === winner.title) {
        expect(res.status).toBe(201)
        expect((await res.json<Task>()).id).toBe(winner.id)
      } else {
        expect((await expectProblem(res, 422)).type).toBe('/problems/idempotency-key-reused')
      }
    }
    expect(await tasksOf(user.id)).toEqual([winner.id])
  })

  it('replays the original response even after the task was changed or deleted', async () => {
    const user = await signIn()
    const key = 'then-edited'
    const original = await snapshot(await create(user, key, { title: 'Draft' }))
    const { id } = JSON.parse(original.body) as Task
    await user.request(`/tasks/${id}`, { method: 'PATCH', body: { title: 'Edited' } })
    expect(await snapshot(await create(user, key, { title: 'Draft' }))).toEqual(original)
    await user.request(`/tasks/${id}`, { method: 'DELETE' })
    expect(await snapshot(await create(user, key, { title: 'Draft' }))).toEqual(original)
    expect(await tasksOf(user.id)).toEqual([])
  })

  it('honours a record for 24 hours; after that the key creates a new task and replaces the record', async () => {
    const user = await signIn()
    const key = 'daily'
    const first = await (await create(user, key, { title: 'Water plants' })).json<Task>()
    await age(user.id, key, 24 * HOUR - 60_000)
    expect((await (await create(user, key, { title: 'Water plants' })).json<Task>()).id).toBe(first.id)
    await expectProblem(await create(user, key, { title: 'Something else' }), 422)

    await age(user.id, key, 24 * HOUR + 1)
    const next = await create(user, key, { title: 'Something else' })
    expect(next.status).toBe(201)
    expect(next.headers.get('Idempotent-Replayed')).toBeNull()
    const second = await next.json<Task>()
    expect(second.id).not.toBe(first.id)
    expect(await recordsOf(user.id)).toEqual([expect.objectContaining({ key, task_id: second.id })])
    expect((await (await create(user, key, { title: 'Something else' })).json<Task>()).id).toBe(second.id)
    expect((await tasksOf(user.id)).sort()).toEqual([first.id, second.id].sort())
  })

  it('stores no record for a refused request, so the key stays free', async () => {
    const user = await signIn()
    const key = 'after-a-typo'
    await expectProblem(await create(user, key, { title: '' }), 400)
    await expectProblem(await create(user, key, '{"title":'), 400)
    await expectProblem(
      await user.request('/tasks?x=1', { method: 'POST', body: { title: 'x' }, headers: { 'Idempotency-Key': key } }),
      400,
    )
    expect(await recordsOf(user.id)).toEqual([])
    const res = await create(user, key, { title: 'Fixed' })
    expect(res.status).toBe(201)
    expect(res.headers.get('Idempotent-Replayed')).toBeNull()
  })

  describe('at the task quota', () => {
    // Records budgeted apart from tasks here (by default there are as many as tasks), so that only the
    // task quota refuses; the record budget has its own tests in storage-bounds.test.ts.
    const two = { TASK_QUOTA: '2', IDEMPOTENCY_KEYS_PER_USER: '10' }
    const createUnder = (user: SignedIn, key: string, title: string) =>
      user.request('/tasks', { method: 'POST', body: { title }, headers: { 'Idempotency-Key': key }, env: two })

    it('refuses a new key with 409 and stores no record, so the same key succeeds once there is room', async () => {
      const user = await signIn()
      const first = await (await createUnder(user, 'one', 'one')).json<Task>()
      expect((await createUnder(user, 'two', 'two')).status).toBe(201)
      const problem = await expectProblem(await createUnder(user, 'three', 'three'), 409)
      expect(problem.type).toBe('/problems/quota-exceeded')
      expect((await recordsOf(user.id)).map((r) => r.key).sort()).toEqual(['one', 'two'])
      expect(await tasksOf(user.id)).toHaveLength(2)

      await user.request(`/tasks/${first.id}`, { method: 'DELETE' })
      const retry = await createUnder(user, 'three', 'three')
      expect(retry.status).toBe(201)
      expect(retry.headers.get('Idempotent-Replayed')).toBeNull()
      expect(await tasksOf(user.id)).toHaveLength(2)
    })

    it('still replays a create that succeeded before the quota was reached', async () => {
      const user = await signIn()
      const original = await snapshot(await createUnder(user, 'one', 'one'))
      await createUnder(user, 'two', 'two')
      const retry = await createUnder(user, 'one', 'one')
      expect(retry.headers.get('Idempotent-Replayed')).toBe('true')
      expect(await snapshot(retry)).toEqual(original)
      await expectProblem(await createUnder(user, 'one', 'changed'), 422)
    })

    it('never replays an expired record when the quota refuses the new create', async () => {
      const user = await signIn()
      await createUnder(user, 'old', 'old')
      await createUnder(user, 'other', 'other')
      await age(user.id, 'old', 25 * HOUR)
      const problem = await expectProblem(await createUnder(user, 'old', 'old'), 409)
      expect(problem.type).toBe('/problems/quota-exceeded')
      expect(await tasksOf(user.id)).toHaveLength(2)
    })
  })

  it('creates a new task for every request without a key, as before', async () => {
    const user = await signIn()
    await create(user, undefined, { title: 'same' })
    await create(user, undefined, { title: 'same' })
    expect(await tasksOf(user.id)).toHaveLength(2)
    expect(await recordsOf(user.id)).toEqual([])
  })

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['non-ASCII', 'clé'],
    ['a tab', 'a\tb'],
    ['DEL', 'a\x7fb'],
  ])('refuses a key that is %s with 400 naming the header, creating nothing', async (_, key) => {
    const user = await signIn()
    const problem = await expectProblem(await create(user, key, { title: 'x' }), 400)
    expect(invalidNames(problem)).toEqual(['idempotency-key'])
    expect(problem.detail).toMatch(/idempotency-key/)
    expect(await tasksOf(user.id)).toEqual([])
  })

  it('accepts any 1 to 255 printable ASCII characters as a key', async () => {
    const user = await signIn()
    for (const key of ['k', 'k'.repeat(255), '"quoted" key with spaces', "~!@#$%^&*()_+{}|:<>?`-=[]\\;',./"]) {
      const res = await create(user, key, { title: 'x' })
      expect(res.status, key).toBe(201)
    }
    expect(await tasksOf(user.id)).toHaveLength(4)
  })

  it('writes the task and its record in one transaction: if the record cannot be written, neither is', async () => {
    const user = await signIn()
    // A D1 whose batch() runs a failing statement in place of the key record's INSERT.
    const sabotage = <T extends D1Database | D1DatabaseSession>(target: T): T =>
      new Proxy(target, {
        get(t, prop) {
          if (prop === 'withSession')
            return (constraint?: string) => sabotage((t as D1Database).withSession(constraint))
          if (prop === 'batch') {
            return (statements: D1PreparedStatement[]) =>
              t.batch(statements.map((s, i) => (i === 1 ? t.prepare('INSERT INTO no_such_table VALUES (1)') : s)))
          }
          const value = Reflect.get(t, prop, t)
          return typeof value === 'function' ? value.bind(t) : value
        },
      })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const res = await request('/tasks', {
      method: 'POST',
      token: user.token,
      body: { title: 'Half-written?' },
      headers: { 'Idempotency-Key': 'atomic' },
      env: { DB: sabotage(env.DB) },
    })
    error.mockRestore()
    // A statement D1 refuses (no such table) is our bug, not an outage: 500, never 503 (d1-errors.test.ts).
    await expectProblem(res, 500)
    expect(await tasksOf(user.id)).toEqual([])
    expect(await recordsOf(user.id)).toEqual([])
  })

  it('lets a browser send the key and read the replay marker cross-origin', async () => {
    const user = await signIn()
    const headers = { Origin: 'http://localhost:3000', 'Idempotency-Key': 'cors' }
    await user.request('/tasks', { method: 'POST', body: { title: 'x' }, headers })
    const res = await user.request('/tasks', { method: 'POST', body: { title: 'x' }, headers })
    expect(res.headers.get('Idempotent-Replayed')).toBe('true')
    expect(res.headers.get('Access-Control-Expose-Headers')?.split(',')).toContain('Idempotent-Replayed')
  })
})
