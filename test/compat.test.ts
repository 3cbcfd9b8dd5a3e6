/** The /api routes (src/compat/): the FastAPI backend's contract, attacked rule by rule. */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { type ApiTask, apiTask } from '../src/compat/task'
import type { Task } from '../src/tasks/model'
import { countingDb, expectProblem, feed, request, type SignedIn, signIn, storedTask } from './helpers'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
/** For tests that make dozens of requests: well within the default alone, not on a busy machine. */
const MANY_REQUESTS = { timeout: 60_000 }

let user: SignedIn
beforeEach(async () => {
  user = await signIn()
})

/** Both forms of every path: with the caller's id and without. */
const forms = () => [`/api/${user.id}/tasks`, '/api/tasks']

const create = async (body: Record<string, unknown> = {}, who = user): Promise<ApiTask> => {
  const res = await who.request('/api/tasks', { method: 'POST', body: { title: 'A task', ...body } })
  expect(res.status).toBe(201)
  return res.json<ApiTask>()
}

const storedByNumber = (userId: string, number: number) =>
  env.DB.prepare('SELECT * FROM tasks WHERE user_id = ?1 AND number = ?2')
    .bind(userId, number)
    .first<Record<string, unknown>>()

const countOf = async (userId: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1').bind(userId).first<{ n: number }>())!.n

describe('task numbers', () => {
  it("numbers each user's tasks 1, 2, 3 in creation order, separately per user, and shows it in the main API", async () => {
    const other = await signIn()
    expect((await create()).id).toBe(1)
    expect((await create({}, other)).id).toBe(1)
    expect((await create()).id).toBe(2)
    const main = await user.createTask()
    expect(main.number).toBe(3)
    expect((await (await user.request('/api/tasks/3')).json<ApiTask>()).title).toBe(main.title)
    expect(await storedByNumber(other.id, 1)).toMatchObject({ user_id: other.id })
  })

  it('never hands a number out again after its task, or every task, is deleted', async () => {
    await create()
    await create()
    await create()
    expect((await user.request('/api/tasks/3', { method: 'DELETE' })).status).toBe(200)
    expect((await create()).id).toBe(4)
    for (const n of [1, 2, 4]) expect((await user.request(`/api/tasks/${n}`, { method: 'DELETE' })).status).toBe(200)
    expect(await countOf(user.id)).toBe(0)
    expect((await create()).id).toBe(5)
  })

  it('gives 20 concurrent creates for one user 20 distinct, consecutive numbers', MANY_REQUESTS, async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? user.request('/api/tasks', { method: 'POST', body: { title: `compat ${i}` } })
          : user.request('/tasks', { method: 'POST', body: { title: `main ${i}` } }),
      ),
    )
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201))
    const numbers = await Promise.all(
      responses.map(async (r, i) => (i % 2 === 0 ? (await r.json<ApiTask>()).id : (await r.json<Task>()).number)),
    )
    expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    const stored = await env.DB.prepare('SELECT number FROM tasks WHERE user_id = ?1 ORDER BY number')
      .bind(user.id)
      .all<{ number: number }>()
    expect(stored.results.map((r) => r.number)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
  })

  it('refuses a number sent to the main API as set by the server, and stores nothing', async () => {
    const res = await user.request('/tasks', { method: 'POST', body: { title: 'numbered', number: 7 } })
    const problem = await expectProblem(res, 400)
    expect(problem.errors).toEqual([{ pointer: '#/number', detail: 'is set by the server and cannot be sent' }])
    expect(await countOf(user.id)).toBe(0)
  })

  it("keeps a task's number through every write", async () => {
    const task = await user.createTask()
    await user.request(`/tasks/${task.id}`, { method: 'PUT', body: { title: 'replaced' } })
    await user.request('/api/tasks/1', { method: 'PUT', body: { completed: true } })
    await user.request('/api/tasks/1/complete', { method: 'PATCH' })
    expect((await storedTask(task.id))?.number).toBe(1)
  })

  it('refuses, in the schema, an insert without the next number, and any change of a number', async () => {
    await create()
    const insert = (number: number | null) =>
      env.DB.prepare(
        `INSERT INTO tasks (id, user_id, title, created_at, updated_at, number) VALUES (?1, ?2, 'raw', ?3, ?3, ?4)`,
      )
        .bind(crypto.randomUUID(), user.id, new Date().toISOString(), number)
        .run()
    for (const number of [null, 1, 3]) await expect(insert(number), String(number)).rejects.toThrow(/number/)
    await expect(
      env.DB.prepare('UPDATE tasks SET number = 9, version = version + 1 WHERE user_id = ?1').bind(user.id).run(),
    ).rejects.toThrow(/immutable/)
    expect(await countOf(user.id)).toBe(1)
    await insert(2)
    expect(await countOf(user.id)).toBe(2)
  })
})

describe('the task object', () => {
  it('is snake_case, with the number as id, description null when empty, and the date-only due date at 00:00 UTC', async () => {
    for (const path of forms()) {
      const res = await user.request(path, {
        method: 'POST',
        body: { title: '  Write report ', priority: 'HIGH', due_date: '2026-03-01', tags: ['work'] },
      })
      expect(res.status, path).toBe(201)
      const task = await res.json<ApiTask>()
      expect(task).toEqual({
        id: expect.any(Number),
        user_id: user.id,
        title: 'Write report',
        description: null,
        completed: false,
        priority: 'high',
        tags: ['work'],
        due_date: '2026-03-01T00:00:00.000Z',
        created_at: expect.stringMatching(ISO),
        updated_at: task.created_at,
        completed_at: null,
        recurrence: 'none',
        recurrence_interval: null,
        time_zone: 'UTC',
        next_task_id: null,
        remind_at: null,
      })
      expect(res.headers.get('ETag')).toBe('"v1"')
      // And it is what /openapi.json documents.
      expect(apiTask.safeParse(task).success).toBe(true)
      expect(await storedByNumber(user.id, task.id)).toMatchObject({
        title: 'Write report',
        description: '',
        priority: 'high',
        due_at: '2026-03-01T00:00:00.000Z',
      })
    }
  })

  it('takes the defaults, null for empty fields, a date-time with an offset, and a body without a Content-Type', async () => {
    const res = await user.request('/api/tasks', {
      method: 'POST',
      body: JSON.stringify({ title: 'x', description: null, tags: null, due_date: '2026-03-01T10:00:00+02:00' }),
      // No media type at all: FastAPI read such a body as JSON.
      headers: { 'Content-Type': '' },
    })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({
      description: null,
      tags: [],
      priority: 'medium',
      completed: false,
      due_date: '2026-03-01T08:00:00.000Z',
    })
  })

  it('ignores unknown fields and server-set fields, as FastAPI did', async () => {
    const res = await user.request('/api/tasks', {
      method: 'POST',
      body: { title: 'x', category: 'home', status: 'pending', id: 99, created_at: '2000-01-01', dueAt: 'no' },
    })
    expect(res.status).toBe(201)
    const task = await res.json<ApiTask>()
    expect(task.id).toBe(1)
    expect(task.created_at).not.toBe('2000-01-01')
    expect(Object.keys((await storedByNumber(user.id, 1))!)).not.toContain('category')
  })
})

describe('the user in the path, query and body', () => {
  it('returns 403, reads nothing and changes nothing when the path names another user', MANY_REQUESTS, async () => {
    const other = await signIn()
    await create({}, other)
    const cases: [string, string, unknown?][] = [
      ['GET', `/api/${other.id}/tasks`],
      ['POST', `/api/${other.id}/tasks`, { title: 'planted' }],
      ['GET', `/api/${other.id}/tasks/1`],
      ['PUT', `/api/${other.id}/tasks/1`, { title: 'hijacked' }],
      ['PATCH', `/api/${other.id}/tasks/1`, { title: 'hijacked' }],
      ['DELETE', `/api/${other.id}/tasks/1`],
      ['PATCH', `/api/${other.id}/tasks/1/complete`],
      ['POST', `/api/${other.id}/tasks/1/toggle`],
      // Not even the body is read: it would be a 422.
      ['POST', `/api/${other.id}/tasks`, { title: 42 }],
    ]
    for (const [method, path, body] of cases) {
      const { db, counter } = countingDb(env.DB)
      const res = await request(path, { method, token: user.token, body, env: { DB: db } })
      const problem = await expectProblem(res, 403)
      expect(problem.detail).not.toContain(other.id)
      expect(counter.roundTrips, `${method} ${path}`).toBe(0)
    }
    expect(await storedByNumber(other.id, 1)).toMatchObject({ title: 'A task', completed: 0, version: 1 })
    expect(await countOf(other.id)).toBe(1)
    expect(await countOf(user.id)).toBe(0)
  })

  it('answers 401 without a token, with or without the user in the path', async () => {
    for (const path of [`/api/${user.id}/tasks`, '/api/tasks', '/api/tasks/1', `/api/${user.id}/tasks/1/complete`]) {
      const res = await request(path)
      await expectProblem(res, 401)
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/)
    }
  })

  it(
    'returns 403 and stores nothing for a body that names another user, as user_id or userId',
    MANY_REQUESTS,
    async () => {
      const other = await signIn()
      await create()
      for (const field of ['user_id', 'userId']) {
        for (const [method, path] of [
          ['POST', '/api/tasks'],
          ['PUT', '/api/tasks/1'],
          ['PATCH', `/api/${user.id}/tasks/1`],
          ['PATCH', '/api/tasks/1/complete'],
        ] as const) {
          const res = await user.request(path, {
            method,
            body: { title: 'planted', completed: true, [field]: other.id },
          })
          await expectProblem(res, 403)
        }
      }
      expect(await countOf(user.id)).toBe(1)
      expect(await countOf(other.id)).toBe(0)
      expect(await storedByNumber(user.id, 1)).toMatchObject({ title: 'A task', completed: 0, version: 1 })
    },
  )

  it('returns 403 for a query that names another user, and deletes nothing', MANY_REQUESTS, async () => {
    const other = await signIn()
    await create()
    for (const param of ['user_id', 'userId']) {
      for (const [method, path] of [
        ['GET', '/api/tasks'],
        ['GET', '/api/tasks/1'],
        ['DELETE', '/api/tasks/1'],
        ['POST', '/api/tasks/1/toggle'],
      ] as const) {
        await expectProblem(await user.request(`${path}?${param}=${encodeURIComponent(other.id)}`, { method }), 403)
      }
    }
    expect(await storedByNumber(user.id, 1)).toMatchObject({ completed: 0, version: 1 })
  })

  it('ignores a user_id or userId naming the caller, in the body and in the query', async () => {
    const res = await user.request(`/api/${user.id}/tasks?user_id=${user.id}`, {
      method: 'POST',
      body: { title: 'mine', user_id: user.id, userId: user.id },
    })
    expect(res.status).toBe(201)
    expect(await storedByNumber(user.id, 1)).toMatchObject({ user_id: user.id, title: 'mine' })
    const list = await user.request(`/api/tasks?userId=${user.id}`)
    expect((await list.json<ApiTask[]>()).map((t) => t.title)).toEqual(['mine'])
  })
})

describe('ids on the /api routes', () => {
  it(
    "answers 404 for a main-API UUID, another user's number, and anything that is not a task number",
    MANY_REQUESTS,
    async () => {
      const main = await user.createTask()
      const other = await signIn()
      await create({}, other)
      await create({}, other)
      for (const id of [main.id, '2', '0', '-1', '1.0', '01', 'abc', '9007199254740993', '1e3']) {
        for (const [method, suffix] of [
          ['GET', ''],
          ['PUT', ''],
          ['DELETE', ''],
          ['PATCH', '/complete'],
        ] as const) {
          const res = await user.request(`/api/tasks/${id}${suffix}`, {
            method,
            body: method === 'PUT' ? {} : undefined,
          })
          expect((await expectProblem(res, 404)).detail, `${method} ${id}`).toBe('No task has this id.')
        }
      }
      expect(await storedByNumber(other.id, 2)).toMatchObject({ version: 1 })
      expect(await storedTask(main.id)).toMatchObject({ version: 1 })
    },
  )

  it('answers with or without a trailing slash', async () => {
    const created = await user.request(`/api/${user.id}/tasks/`, { method: 'POST', body: { title: 'slash' } })
    expect(created.status).toBe(201)
    expect((await user.request('/api/tasks/')).status).toBe(200)
    expect((await user.request(`/api/${user.id}/tasks/1/`)).status).toBe(200)
    expect((await user.request('/api/tasks/1/', { method: 'PUT', body: { title: 'edited' } })).status).toBe(200)
    expect((await user.request('/api/tasks/1/complete/', { method: 'PATCH' })).status).toBe(200)
    expect((await user.request(`/api/${user.id}/tasks/1/toggle/`, { method: 'POST' })).status).toBe(200)
    expect((await user.request('/api/tasks/1/', { method: 'DELETE' })).status).toBe(200)
    // The main API keeps its one spelling.
    expect((await user.request('/tasks/')).status).toBe(404)
  })

  it('answers 405 with Allow for a method a route does not have', async () => {
    await create()
    for (const [method, path, allow] of [
      ['DELETE', '/api/tasks', 'GET, HEAD, POST'],
      ['POST', `/api/${user.id}/tasks/1`, 'GET, HEAD, PUT, PATCH, DELETE'],
      ['GET', '/api/tasks/1/complete', 'PATCH'],
      ['PUT', '/api/tasks/1/toggle', 'PATCH, POST'],
    ] as const) {
      const res = await user.request(path, { method })
      await expectProblem(res, 405)
      expect(res.headers.get('Allow'), `${method} ${path}`).toBe(allow)
    }
  })
})

describe('the completion toggle', () => {
  const toggle = (path: string, init: Parameters<SignedIn['request']>[1] = {}) =>
    user.request(path, { method: 'PATCH', ...init })

  it('flips completed without a body, keeping completed_at, the version, the ETag and the sync feed as PATCH does', async () => {
    await create()
    const { token } = await feed(user)
    const done = await toggle('/api/tasks/1/complete')
    expect(done.status).toBe(200)
    expect(done.headers.get('ETag')).toBe('"v2"')
    const task = await done.json<ApiTask>()
    expect(task).toMatchObject({ id: 1, completed: true, completed_at: task.updated_at })
    expect(await storedByNumber(user.id, 1)).toMatchObject({ completed: 1, completed_at: task.updated_at, version: 2 })
    const changes = await feed(user, token)
    expect(changes.tasks.map((t) => [t.number, t.completed])).toEqual([[1, true]])

    const reopened = await toggle(`/api/${user.id}/tasks/1/complete`)
    expect(await reopened.json()).toMatchObject({ completed: false, completed_at: null })
    expect(reopened.headers.get('ETag')).toBe('"v3"')
    expect(await storedByNumber(user.id, 1)).toMatchObject({ completed: 0, completed_at: null, version: 3 })
  })

  it('flips with an empty body, with an empty JSON object, and on every alias', async () => {
    await create()
    const expected = [true, false, true, false, true]
    const calls = [
      () => toggle('/api/tasks/1/complete', { body: '', headers: { 'Content-Type': 'application/json' } }),
      () => toggle('/api/tasks/1/complete', { body: {} }),
      () => toggle('/api/tasks/1/toggle'),
      () => user.request('/api/tasks/1/toggle', { method: 'POST' }),
      () => user.request(`/api/${user.id}/tasks/1/toggle`, { method: 'POST', body: { completed: null } }),
    ]
    for (const [i, call] of calls.entries()) {
      const res = await call()
      expect(res.status, String(i)).toBe(200)
      expect((await res.json<ApiTask>()).completed, String(i)).toBe(expected[i])
    }
    expect(await storedByNumber(user.id, 1)).toMatchObject({ completed: 1, version: 6 })
  })

  it('completes a recurring task as the main PATCH does: its next occurrence is created once, with the next number', async () => {
    const recurring = await user.createTask({ dueAt: '2027-03-01T09:00:00Z', recurrence: { frequency: 'daily' } })
    const done = await user.request(`/api/tasks/${recurring.number}/complete`, { method: 'PATCH' })
    expect(done.status).toBe(200)
    expect(await done.json()).toMatchObject({ id: recurring.number, completed: true })
    const stored = await storedByNumber(user.id, recurring.number)
    const next = await storedByNumber(user.id, recurring.number + 1)
    expect(next).toMatchObject({ completed: 0, due_at: '2027-03-02T09:00:00.000Z' })
    expect(stored).toMatchObject({ completed: 1, next_task_id: next!.id })
    // Reopening and completing again does not create a second successor.
    await user.request(`/api/tasks/${recurring.number}/toggle`, { method: 'POST' })
    await user.request(`/api/tasks/${recurring.number}/toggle`, { method: 'POST', body: { completed: true } })
    expect(await countOf(user.id)).toBe(2)
  })

  it('sets completed from a boolean body, keeping the first completion time', async () => {
    await create()
    const first = await (await toggle('/api/tasks/1/complete', { body: { completed: true } })).json<ApiTask>()
    const again = await (await toggle('/api/tasks/1/complete', { body: { completed: true } })).json<ApiTask>()
    expect(again).toMatchObject({ completed: true, completed_at: first.completed_at })
    const open = await (await toggle('/api/tasks/1/toggle', { body: { completed: false } })).json<ApiTask>()
    expect(open).toMatchObject({ completed: false, completed_at: null })
    expect(await storedByNumber(user.id, 1)).toMatchObject({ completed: 0, completed_at: null, version: 4 })
  })

  it('answers 422 and changes nothing for a completed that is not a boolean, or a body that is not JSON', async () => {
    await create()
    const bad = await toggle('/api/tasks/1/complete', { body: { completed: 'yes' } })
    const problem = await expectProblem(bad, 422)
    expect(problem.errors).toEqual([{ pointer: '#/completed', detail: expect.any(String) }])
    await expectProblem(
      await toggle('/api/tasks/1/complete', { body: '{', headers: { 'Content-Type': 'application/json' } }),
      422,
    )
    expect(await storedByNumber(user.id, 1)).toMatchObject({ completed: 0, version: 1 })
  })
})

describe('bodies that are not UTF-8', () => {
  // "café" with its é as ISO-8859-1 (0xE9): leniently decoded, it would be stored as U+FFFD.
  const latin1 = (json: string) => {
    const bytes = new TextEncoder().encode(json)
    const at = json.indexOf('é')
    const head = new TextEncoder().encode(json.slice(0, at)).length
    return new Blob([bytes.slice(0, head), new Uint8Array([0xe9]), bytes.slice(head + 2)]).stream()
  }
  const send = (method: string, path: string, json: string) =>
    user.request(path, { method, body: latin1(json), headers: { 'Content-Type': 'application/json' } })

  it('answers 422 as FastAPI does for a body it cannot decode, and stores nothing', async () => {
    for (const path of forms()) {
      const problem = await expectProblem(await send('POST', path, '{"title":"café"}'), 422)
      expect(problem.detail).toMatch(/UTF-8/)
      expect(problem.errors).toEqual([{ pointer: '#', detail: expect.stringMatching(/UTF-8/) }])
    }
    expect(await countOf(user.id)).toBe(0)
  })

  it('answers 422 on PUT, PATCH and the toggle, and leaves the task as it was', async () => {
    await create({ title: 'before' })
    for (const [method, path] of [
      ['PUT', '/api/tasks/1'],
      ['PATCH', '/api/tasks/1'],
      ['PATCH', '/api/tasks/1/complete'],
    ] as const) {
      await expectProblem(await send(method, path, '{"title":"café","completed":true}'), 422)
    }
    expect(await storedByNumber(user.id, 1)).toMatchObject({ title: 'before', completed: 0, version: 1 })
  })
})

describe('PUT and PATCH', () => {
  it('change only the fields given', async () => {
    await create({ title: 'Keep', description: 'kept', priority: 'low', tags: ['a'] })
    for (const [method, path] of [
      ['PUT', '/api/tasks/1'],
      ['PATCH', `/api/${user.id}/tasks/1`],
    ] as const) {
      const res = await user.request(path, { method, body: { completed: method === 'PUT' } })
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ title: 'Keep', description: 'kept', priority: 'low', tags: ['a'] })
    }
    expect(await storedByNumber(user.id, 1)).toMatchObject({ title: 'Keep', completed: 0, version: 3 })
  })

  it('take back the whole task a frontend got, server fields and all, and clear what is null', async () => {
    const task = await create({ description: 'old', due_date: '2026-01-01' })
    const res = await user.request(`/api/${user.id}/tasks/1`, {
      method: 'PUT',
      body: { ...task, title: 'Edited', description: null, due_date: null, priority: 'Low', id: 7 },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('ETag')).toBe('"v2"')
    expect(await res.json()).toMatchObject({
      id: 1,
      title: 'Edited',
      description: null,
      due_date: null,
      priority: 'low',
    })
    expect(await storedByNumber(user.id, 1)).toMatchObject({ description: '', due_at: null, version: 2 })
  })

  it('answer an empty body with the task as it is, writing nothing', async () => {
    await create()
    const res = await user.request('/api/tasks/1', { method: 'PUT', body: { category: 'ignored' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('ETag')).toBe('"v1"')
    expect(await storedByNumber(user.id, 1)).toMatchObject({ version: 1 })
  })
})

describe('DELETE', () => {
  it('answers 200 with a JSON message, deletes the task, and 404 the second time', async () => {
    for (let i = 0; i < 3; i++) await create()
    const res = await user.request(`/api/${user.id}/tasks/1`, { method: 'DELETE' })
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({ message: 'Task deleted' })
    expect(await storedByNumber(user.id, 1)).toBeNull()
    await expectProblem(await user.request('/api/tasks/1', { method: 'DELETE' }), 404)
    expect(await countOf(user.id)).toBe(2)
  })
})

describe('invalid input', () => {
  it('answers 422 whose detail is one readable sentence naming every field, and errors lists each', async () => {
    const res = await user.request('/api/tasks', {
      method: 'POST',
      body: { title: 'x'.repeat(201), priority: 'urgent', due_date: 'tomorrow', tags: 'work', completed: 'yes' },
    })
    const problem = await expectProblem(res, 422)
    expect(problem.type).toBe('/problems/unprocessable-content')
    expect(typeof problem.detail).toBe('string')
    for (const field of ['title', 'priority', 'due_date', 'tags', 'completed']) expect(problem.detail).toContain(field)
    expect(problem.detail).toContain('must be one of low, medium, high')
    expect(problem.errors!.map((e) => ('pointer' in e ? e.pointer : e.parameter)).sort()).toEqual([
      '#/completed',
      '#/due_date',
      '#/priority',
      '#/tags',
      '#/title',
    ])
    expect(await countOf(user.id)).toBe(0)
  })

  it('answers 422 for a missing title, malformed JSON and a body that is not an object', async () => {
    const missing = await expectProblem(await user.request('/api/tasks', { method: 'POST', body: {} }), 422)
    expect(missing.detail).toBe('Invalid request body. title: is required.')
    for (const body of ['{"title":', '[]', '"title"', 'null']) {
      const res = await user.request('/api/tasks', {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json' },
      })
      expect((await expectProblem(res, 422)).errors, body).toEqual([{ pointer: '#', detail: expect.any(String) }])
    }
    expect(await countOf(user.id)).toBe(0)
  })

  it('answers 415 for a body that says it is not JSON', async () => {
    const res = await user.request('/api/tasks', {
      method: 'POST',
      body: 'title=x',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    })
    await expectProblem(res, 415)
  })

  it('answers 409 over the quota, as the main API does', async () => {
    const res = await request('/api/tasks', {
      method: 'POST',
      token: user.token,
      body: { title: 'over' },
      env: { TASK_QUOTA: '1' },
    })
    expect(res.status).toBe(201)
    await expectProblem(
      await request('/api/tasks', {
        method: 'POST',
        token: user.token,
        body: { title: 'over' },
        env: { TASK_QUOTA: '1' },
      }),
      409,
    )
  })
})

describe('CORS', () => {
  const LISTED = 'http://localhost:3000'

  it('grants listed origins credentials on both APIs, and answers /api preflights', async () => {
    for (const path of [`/api/${user.id}/tasks/1/complete`, '/api/tasks/', '/tasks']) {
      const preflight = await request(path, {
        method: 'OPTIONS',
        headers: {
          Origin: LISTED,
          'Access-Control-Request-Method': 'PATCH',
          'Access-Control-Request-Headers': 'authorization,content-type',
        },
      })
      expect(preflight.status, path).toBe(204)
      expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe(LISTED)
      expect(preflight.headers.get('Access-Control-Allow-Credentials')).toBe('true')
      expect(preflight.headers.get('Access-Control-Allow-Methods')).toContain('PATCH')
    }
    const res = await user.request('/api/tasks', { headers: { Origin: LISTED } })
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(LISTED)
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBe('true')
  })

  it('grants an unlisted origin nothing, and never credentials beside *', async () => {
    const unlisted = await user.request('/api/tasks', { headers: { Origin: 'https://evil.example' } })
    expect(unlisted.headers.get('Access-Control-Allow-Origin')).toBeNull()
    expect(unlisted.headers.get('Access-Control-Allow-Credentials')).toBeNull()
    const any = await request('/api/tasks', {
      token: user.token,
      headers: { Origin: LISTED },
      env: { CORS_ORIGINS: '*' },
    })
    expect(any.headers.get('Access-Control-Allow-Origin')).toBe('*')
    expect(any.headers.get('Access-Control-Allow-Credentials')).toBeNull()
  })
})

describe('D1 round trips on /api', () => {
  it('is one for every route when it succeeds, the object list included', MANY_REQUESTS, async () => {
    await create()
    await create()
    const cases: [string, string, unknown?, Partial<Env>?][] = [
      ['GET', '/api/tasks'],
      ['GET', `/api/${user.id}/tasks?status=pending&sort=priority&search=task&limit=5&skip=1`],
      ['GET', '/api/tasks', undefined, { API_LIST_FORMAT: 'object' }],
      ['GET', '/api/tasks?status=completed', undefined, { API_LIST_FORMAT: 'object' }],
      ['POST', '/api/tasks', { title: 'new' }],
      ['GET', '/api/tasks/1'],
      ['PUT', '/api/tasks/1', { title: 'edited' }],
      ['PATCH', '/api/tasks/1', { priority: 'high' }],
      ['PATCH', '/api/tasks/1/complete'],
      ['POST', '/api/tasks/1/toggle', { completed: true }],
      ['DELETE', '/api/tasks/2'],
    ]
    for (const [method, path, body, vars] of cases) {
      const { db, counter } = countingDb(env.DB)
      const res = await request(path, { method, token: user.token, body, env: { ...vars, DB: db } })
      expect(res.status, `${method} ${path}`).toBeLessThan(300)
      expect(counter.roundTrips, `${method} ${path}: ${counter.statements.join(' | ')}`).toBe(1)
    }
  })
})
