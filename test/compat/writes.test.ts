/** The /api routes' writes: the completion toggle, bodies, PUT, PATCH, DELETE, invalid input, CORS, round trips. */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { ApiTask } from '../../src/compat/task'
import { countingDb, expectProblem, feed, request, type SignedIn } from '../helpers'
import { actAsAFreshUser, countOf, create, forms, MANY_REQUESTS, storedByNumber, user } from './api-user'

actAsAFreshUser()

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
