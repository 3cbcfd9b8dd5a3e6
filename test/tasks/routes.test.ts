import { beforeEach, describe, expect, it } from 'vitest'
import type { Task } from '../../src/tasks/model'
import { expectProblem, invalidNames, type SignedIn, signIn, storedTask } from '../helpers'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

let user: SignedIn
beforeEach(async () => {
  user = await signIn()
})

const post = (body: unknown, headers?: Record<string, string>) =>
  user.request('/tasks', { method: 'POST', body, ...(headers && { headers }) })
const patch = (id: string, body: unknown) => user.request(`/tasks/${id}`, { method: 'PATCH', body })
const put = (id: string, body: unknown) => user.request(`/tasks/${id}`, { method: 'PUT', body })

describe('POST /tasks', () => {
  it('creates a task with defaults, returns 201 with Location, and stores it for the caller', async () => {
    const res = await post({ title: '  Buy milk  ' })
    expect(res.status).toBe(201)
    const task = await res.json<Task>()
    expect(res.headers.get('Location')).toBe(`/tasks/${task.id}`)
    expect(task).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      title: 'Buy milk',
      description: '',
      completed: false,
      priority: 'medium',
      dueAt: null,
      tags: [],
      createdAt: expect.stringMatching(ISO),
      updatedAt: task.createdAt,
      completedAt: null,
      version: 1,
      number: 1,
      recurrence: null,
      timeZone: 'UTC',
      nextTaskId: null,
      nextTaskNumber: null,
      remindAt: null,
    })
    expect(res.headers.get('ETag')).toBe('"v1"')
    expect(await storedTask(task.id)).toMatchObject({
      user_id: user.id,
      title: 'Buy milk',
      completed: 0,
      tags: '[]',
      version: 1,
    })
  })

  it('stores every field, normalising dueAt to UTC and setting completedAt when completed', async () => {
    const task = await user.createTask({
      title: 'Ship',
      description: 'all of it',
      completed: true,
      priority: 'high',
      dueAt: '2026-12-24T18:00:00+02:00',
      tags: ['work', ' launch '],
    })
    expect(task).toMatchObject({
      description: 'all of it',
      completed: true,
      priority: 'high',
      dueAt: '2026-12-24T16:00:00.000Z',
      tags: ['work', 'launch'],
      completedAt: task.createdAt,
    })
    expect(await storedTask(task.id)).toMatchObject({
      completed: 1,
      due_at: '2026-12-24T16:00:00.000Z',
      tags: '["work","launch"]',
    })
  })

  it('gives every task a new server-made id', async () => {
    const ids = new Set(await Promise.all([1, 2, 3].map(async () => (await user.createTask()).id)))
    expect(ids.size).toBe(3)
  })
})

describe('GET /tasks/{id}', () => {
  it('returns the task', async () => {
    const task = await user.createTask({ title: 'Read me' })
    const res = await user.request(`/tasks/${task.id}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(task)
  })

  it('answers 404 for an unknown or malformed id', async () => {
    for (const id of [crypto.randomUUID(), 'nope', crypto.randomUUID().toUpperCase(), "1' OR '1'='1"]) {
      await expectProblem(await user.request(`/tasks/${encodeURIComponent(id)}`), 404)
    }
  })
})

describe('PATCH /tasks/{id}', () => {
  it('changes only the fields sent and bumps updatedAt', async () => {
    const task = await user.createTask({ title: 'Old', description: 'keep me', tags: ['a'] })
    await new Promise((r) => setTimeout(r, 5))
    const res = await patch(task.id, { title: 'New', priority: 'low' })
    expect(res.status).toBe(200)
    const updated = await res.json<Task>()
    expect(updated).toMatchObject({
      title: 'New',
      priority: 'low',
      description: 'keep me',
      tags: ['a'],
      createdAt: task.createdAt,
    })
    expect(updated.updatedAt > task.updatedAt).toBe(true)
    expect(await storedTask(task.id)).toMatchObject({ title: 'New', priority: 'low', description: 'keep me' })
  })

  it('sets completedAt on completion, keeps it when completed again, clears it on reopening', async () => {
    const task = await user.createTask()
    const done = await (await patch(task.id, { completed: true })).json<Task>()
    expect(done.completedAt).toMatch(ISO)
    await new Promise((r) => setTimeout(r, 5))
    const again = await (await patch(task.id, { completed: true })).json<Task>()
    expect(again.completedAt).toBe(done.completedAt)
    const reopened = await (await patch(task.id, { completed: false })).json<Task>()
    expect(reopened).toMatchObject({ completed: false, completedAt: null })
  })

  it('clears dueAt with null and replaces tags', async () => {
    const task = await user.createTask({ dueAt: '2027-01-01T00:00:00Z', tags: ['x', 'y'] })
    const updated = await (await patch(task.id, { dueAt: null, tags: ['z'] })).json<Task>()
    expect(updated).toMatchObject({ dueAt: null, tags: ['z'] })
  })

  it('refuses an empty patch', async () => {
    const task = await user.createTask()
    const problem = await expectProblem(await patch(task.id, {}), 400)
    expect(problem.errors).toEqual([{ pointer: '#', detail: 'must change at least one field' }])
  })

  it('answers 404 for an unknown id', async () => {
    await expectProblem(await patch(crypto.randomUUID(), { title: 'x' }), 404)
  })
})

describe('PUT /tasks/{id}', () => {
  it('replaces the task, resetting omitted fields to their defaults', async () => {
    const task = await user.createTask({
      title: 'Full',
      description: 'd',
      completed: true,
      priority: 'high',
      dueAt: '2027-01-01T00:00:00Z',
      tags: ['t'],
    })
    const res = await put(task.id, { title: 'Bare' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      id: task.id,
      title: 'Bare',
      description: '',
      completed: false,
      priority: 'medium',
      dueAt: null,
      tags: [],
      completedAt: null,
      createdAt: task.createdAt,
    })
    expect(await storedTask(task.id)).toMatchObject({
      title: 'Bare',
      description: '',
      completed: 0,
      due_at: null,
      tags: '[]',
    })
  })

  it('requires a title', async () => {
    const task = await user.createTask()
    const problem = await expectProblem(await put(task.id, { description: 'no title' }), 400)
    expect(problem.errors).toEqual([{ pointer: '#/title', detail: 'is required' }])
  })

  it('does not create a task for an unknown id', async () => {
    const id = crypto.randomUUID()
    await expectProblem(await put(id, { title: 'x' }), 404)
    expect(await storedTask(id)).toBeNull()
  })
})

describe('DELETE /tasks/{id}', () => {
  it('answers 204, removes the row, then 404', async () => {
    const task = await user.createTask()
    const res = await user.request(`/tasks/${task.id}`, { method: 'DELETE' })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(await storedTask(task.id)).toBeNull()
    await expectProblem(await user.request(`/tasks/${task.id}`, { method: 'DELETE' }), 404)
  })
})

describe('validation limits', () => {
  const fieldsOf = async (res: Response) => invalidNames(await expectProblem(res, 400))

  it('bounds title to 1-200 characters after trimming, counting characters not UTF-16 units', async () => {
    expect(await fieldsOf(await post({ title: '' }))).toEqual(['#/title'])
    expect(await fieldsOf(await post({ title: '   ' }))).toEqual(['#/title'])
    expect(await fieldsOf(await post({ title: 'x'.repeat(201) }))).toEqual(['#/title'])
    expect((await post({ title: 'x'.repeat(200) })).status).toBe(201)
    expect((await post({ title: '🦄'.repeat(200) })).status).toBe(201)
    expect(await fieldsOf(await post({ title: '🦄'.repeat(201) }))).toEqual(['#/title'])
  })

  it('bounds description to 1000 characters', async () => {
    expect((await post({ title: 't', description: 'd'.repeat(1000) })).status).toBe(201)
    expect(await fieldsOf(await post({ title: 't', description: 'd'.repeat(1001) }))).toEqual(['#/description'])
  })

  it('accepts only low, medium and high priorities', async () => {
    for (const priority of ['urgent', 'HIGH', 1, null]) {
      expect(await fieldsOf(await post({ title: 't', priority }))).toEqual(['#/priority'])
    }
  })

  it('accepts only real RFC 3339 date-times for dueAt', async () => {
    for (const dueAt of [
      '2026-12-24',
      '2026-12-24 10:00:00Z',
      '2026-02-30T10:00:00Z',
      '2026-12-24T25:00:00Z',
      '2026-12-24T10:00:00',
      'tomorrow',
      1767225600,
      '9999-12-31T23:00:00-05:00',
    ]) {
      expect(await fieldsOf(await post({ title: 't', dueAt })), String(dueAt)).toEqual(['#/dueAt'])
    }
    const leap = await user.createTask({ dueAt: '2028-02-29T23:59:59.123456Z' })
    expect(leap.dueAt).toBe('2028-02-29T23:59:59.123Z')
  })

  it('allows up to 10 distinct tags of 1-32 characters', async () => {
    const ten = Array.from({ length: 10 }, (_, i) => `tag${i}`)
    expect((await post({ title: 't', tags: ten })).status).toBe(201)
    expect(await fieldsOf(await post({ title: 't', tags: [...ten, 'eleven'] }))).toEqual(['#/tags'])
    expect(await fieldsOf(await post({ title: 't', tags: ['same', 'same'] }))).toEqual(['#/tags'])
    expect(await fieldsOf(await post({ title: 't', tags: ['ok', 'x'.repeat(33)] }))).toEqual(['#/tags/1'])
    expect(await fieldsOf(await post({ title: 't', tags: ['ok', ' '] }))).toEqual(['#/tags/1'])
    expect(await fieldsOf(await post({ title: 't', tags: 'work' }))).toEqual(['#/tags'])
  })

  it('refuses lone surrogates and NUL characters in text, which D1 would not store as sent', async () => {
    const user = await signIn()
    for (const [body, field] of [
      ['{"title":"a\\ud800"}', '#/title'],
      ['{"title":"ok","description":"\\udc00 tail"}', '#/description'],
      ['{"title":"ok","tags":["\\ud83d"]}', '#/tags/0'],
      ['{"title":"a\\u0000b"}', '#/title'],
    ] as const) {
      const res = await user.request('/tasks', { method: 'POST', body })
      expect(invalidNames(await expectProblem(res, 400)), body).toEqual([field])
    }
    // A well-formed pair is one character, and is kept as sent.
    const res = await user.request('/tasks', { method: 'POST', body: '{"title":"\\ud83c\\udf4e"}' })
    expect((await res.json<{ title: string }>()).title).toBe('🍎')
  })

  it('lists every invalid field at once', async () => {
    const res = await post({ title: 42, completed: 'yes', priority: 'urgent', tags: [1], extra: true })
    expect((await fieldsOf(res)).sort()).toEqual(['#/completed', '#/extra', '#/priority', '#/tags/0', '#/title'])
  })

  it('names server-made and unknown fields', async () => {
    for (const field of ['id', 'createdAt', 'updatedAt', 'completedAt', 'version', 'owner', '__proto__']) {
      const body = `{"title":"t",${JSON.stringify(field)}:"x"}`
      const problem = await expectProblem(await post(body), 400)
      expect(invalidNames(problem), field).toEqual([`#/${field}`])
    }
  })

  it('refuses a body that is not a JSON object', async () => {
    for (const body of ['[]', '"title"', 'null', '42']) {
      expect(await fieldsOf(await post(body)), body).toEqual(['#'])
    }
  })
})

describe('request bodies', () => {
  it('answers 400 for malformed JSON', async () => {
    for (const body of ['{', '{"title": "x",}', "{'title': 'x'}", '']) {
      await expectProblem(await post(body), 400)
    }
  })

  it('answers 415 for a body that is not application/json', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const problem = await expectProblem(await post('{"title":"x"}', { 'Content-Type': type }), 415)
      expect(problem.type).toBe('/problems/unsupported-media-type')
    }
    const task = await user.createTask()
    await expectProblem(
      await user.request(`/tasks/${task.id}`, {
        method: 'PATCH',
        body: 'title=x',
        headers: { 'Content-Type': 'text/plain' },
      }),
      415,
    )
    await expectProblem(await user.request('/tasks', { method: 'POST' }), 415)
  })

  it('accepts application/json with a charset', async () => {
    expect((await post('{"title":"x"}', { 'Content-Type': 'application/json; charset=utf-8' })).status).toBe(201)
  })

  it('answers 413 for a body over 16 KiB, with or without Content-Length', async () => {
    const big = JSON.stringify({ title: 't', description: 'x'.repeat(17 * 1024) })
    expect((await expectProblem(await post(big), 413)).type).toBe('/problems/payload-too-large')
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      },
    })
    const res = await user.request('/tasks', { method: 'POST', body: chunked })
    await expectProblem(res, 413)
  })
})

describe('query parameters', () => {
  it('refuses bad limit, cursor, sort and filter values, naming the parameter', async () => {
    for (const [query, name] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['limit=', 'limit'],
      ['limit=1&limit=2', 'limit'],
      ['cursor=garbage', 'cursor'],
      ['cursor=', 'cursor'],
      [`cursor=${'a'.repeat(600)}`, 'cursor'],
      ['completed=yes', 'completed'],
      ['completed=1', 'completed'],
      ['sort=name', 'sort'],
      ['sort=', 'sort'],
      ['sort=+title', 'sort'],
      ['sort=--title', 'sort'],
      ['sort=Title', 'sort'],
      ['sort=title&sort=-title', 'sort'],
      ['priority=urgent', 'priority'],
      ['priority=HIGH', 'priority'],
      ['priority=low&priority=high', 'priority'],
      ['tag=', 'tag'],
      [`tag=${'x'.repeat(33)}`, 'tag'],
      [Array.from({ length: 11 }, (_, i) => `tag=t${i}`).join('&'), 'tag'],
      ['q=', 'q'],
      [`q=${'x'.repeat(101)}`, 'q'],
      ['q=a&q=b', 'q'],
      ['dueBefore=tomorrow', 'dueBefore'],
      ['dueBefore=2026-02-30T00:00:00Z', 'dueBefore'],
      ['dueBefore=2026-05-01', 'dueBefore'],
      ['dueAfter=1714550400', 'dueAfter'],
      ['dueAfter=2026-05-01T09:30:00Z&dueAfter=2026-05-02T09:30:00Z', 'dueAfter'],
      ['overdue=false', 'overdue'],
      ['overdue=1', 'overdue'],
      ['overdue=true&completed=true', 'overdue'],
    ]) {
      expect(invalidNames(await expectProblem(await user.request(`/tasks?${query}`), 400)), query).toEqual([name])
    }
  })

  it('refuses unknown parameters on item routes', async () => {
    const task = await user.createTask()
    await expectProblem(await user.request(`/tasks/${task.id}?expand=all`), 400)
    await expectProblem(await user.request('/tasks?x=1', { method: 'POST', body: { title: 't' } }), 400)
  })
})

describe('routing', () => {
  it('answers 404 problem+json for an unknown route', async () => {
    await expectProblem(await user.request('/nope'), 404)
    await expectProblem(await user.request(`/tasks/${crypto.randomUUID()}/extra`), 404)
  })

  it('answers 405 with Allow for a wrong method', async () => {
    const task = await user.createTask()
    for (const [method, path, allow] of [
      ['PATCH', '/tasks', 'GET, HEAD, POST, DELETE'],
      ['PUT', '/tasks', 'GET, HEAD, POST, DELETE'],
      ['POST', '/tasks/changes', 'GET, HEAD'],
      ['POST', `/tasks/${task.id}`, 'GET, HEAD, PUT, PATCH, DELETE'],
      ['POST', '/me', 'GET, HEAD, DELETE'],
      ['POST', '/me/export', 'GET, HEAD'],
      ['POST', '/health', 'GET, HEAD'],
    ] as const) {
      const res = await user.request(path, { method })
      expect((await expectProblem(res, 405)).type, `${method} ${path}`).toBe('/problems/method-not-allowed')
      expect(res.headers.get('Allow')).toBe(allow)
    }
  })

  it('answers HEAD like GET, without a body', async () => {
    const res = await user.request('/tasks', { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('')
  })
})
