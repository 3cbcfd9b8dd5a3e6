import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { expectProblem, type SignedIn, signIn } from '../helpers'

const DUE = '2026-06-01T09:00:00.000Z'

const stored = (userId: string, number: number) =>
  env.DB.prepare('SELECT title, version, completed FROM tasks WHERE user_id = ?1 AND number = ?2')
    .bind(userId, number)
    .first<{ title: string; version: number; completed: number }>()

const api = (user: SignedIn, path: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}) =>
  user.request(`/api/${user.id}/tasks${path}`, { method, ...(body !== undefined && { body }), headers })

describe('/api under write races', () => {
  it('never answers 404 for an existing task: a dozen concurrent writers get 200, or a retryable 409', async () => {
    const user = await signIn()
    const task = await user.createTask({ title: 'Raced', dueAt: DUE, recurrence: { frequency: 'daily' } })
    const writes = Array.from({ length: 12 }, (_, i) => {
      const path = `/${task.number}`
      switch (i % 4) {
        case 0:
          return api(user, path, 'PUT', { recurrence_interval: 2 + i })
        case 1:
          return api(user, path, 'PATCH', { reminder_offset_minutes: 10 + i })
        case 2:
          return api(user, `${path}/toggle`, 'PATCH')
        default:
          return api(user, path, 'PUT', { title: `title ${i}` })
      }
    })
    const responses = await Promise.all(writes)
    for (const res of responses) {
      if (res.status === 200) continue
      const problem = await expectProblem(res, 409)
      expect(problem.type).toBe('/problems/write-conflict')
      expect(res.headers.get('Retry-After')).toBe('1')
    }
    expect(responses.filter((res) => res.status === 200).length).toBeGreaterThan(0)
    expect(await stored(user.id, task.number)).not.toBeNull()
  })
})

describe('/api conditional requests (If-Match, If-None-Match), as the main API takes them', () => {
  const setUp = async () => {
    const user = await signIn()
    const task = await user.createTask({ title: 'Kept' })
    const res = await api(user, `/${task.number}`)
    expect(res.status).toBe(200)
    return { user, task, etag: res.headers.get('ETag')! }
  }

  it('answers 412 and writes nothing when PUT, PATCH, a toggle or DELETE names a stale version', async () => {
    const { user, task, etag } = await setUp()
    expect(etag).toBe('"v1"')
    const stale = { 'If-Match': '"v7"' }
    const path = `/${task.number}`
    for (const [method, suffix, body] of [
      ['PUT', '', { title: 'changed' }],
      ['PATCH', '', { title: 'changed' }],
      ['PATCH', '/toggle', undefined],
      ['POST', '/toggle', undefined],
      ['PATCH', '/complete', { completed: true }],
      ['DELETE', '', undefined],
    ] as const) {
      await expectProblem(await api(user, `${path}${suffix}`, method, body, stale), 412)
    }
    expect(await stored(user.id, task.number)).toEqual({ title: 'Kept', version: 1, completed: 0 })
  })

  it('writes when If-Match names the current version, and answers the new ETag', async () => {
    const { user, task, etag } = await setUp()
    const res = await api(user, `/${task.number}`, 'PUT', { title: 'changed' }, { 'If-Match': etag })
    expect(res.status).toBe(200)
    expect(res.headers.get('ETag')).toBe('"v2"')
    const toggled = await api(user, `/${task.number}/toggle`, 'PATCH', undefined, { 'If-Match': '"v2"' })
    expect(toggled.status).toBe(200)
    expect(await stored(user.id, task.number)).toEqual({ title: 'changed', version: 3, completed: 1 })
  })

  it('answers 412 to a write planned from the stored task (the enum rule) at a stale version', async () => {
    const user = await signIn()
    const task = await user.createTask({ title: 'Rule', dueAt: DUE, recurrence: { frequency: 'daily' } })
    const res = await api(user, `/${task.number}`, 'PUT', { recurrence_interval: 2 }, { 'If-Match': '"v9"' })
    await expectProblem(res, 412)
    expect((await stored(user.id, task.number))!.version).toBe(1)
  })

  it('answers 304 to a GET whose If-None-Match names the current version, and 400 to a malformed header', async () => {
    const { user, task, etag } = await setUp()
    const res = await api(user, `/${task.number}`, 'GET', undefined, { 'If-None-Match': etag })
    expect(res.status).toBe(304)
    expect(res.headers.get('ETag')).toBe(etag)
    await expectProblem(await api(user, `/${task.number}`, 'PUT', { title: 'x' }, { 'If-Match': 'v1' }), 400)
    expect((await stored(user.id, task.number))!.title).toBe('Kept')
  })

  it("answers 404, never 412, for another user's number whatever the conditions say", async () => {
    const { task } = await setUp()
    const other = await signIn()
    const res = await api(other, `/${task.number + 1000}`, 'PUT', { title: 'x' }, { 'If-Match': '"v1"' })
    await expectProblem(res, 404)
  })
})
