/** The /api routes (src/compat/): numbers, the task object, the user in the path and ids, attacked rule by rule. */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { type ApiTask, apiTask } from '../../src/compat/task'
import type { Task } from '../../src/tasks/model'
import { countingDb, expectProblem, request, signIn, storedTask } from '../helpers'
import { actAsAFreshUser, countOf, create, forms, ISO, MANY_REQUESTS, storedByNumber, user } from './api-user'

actAsAFreshUser()

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
