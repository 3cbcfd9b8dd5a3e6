import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Task } from '../../src/tasks/model'
import { countingDb, expectProblem, invalidNames, request, type SignedIn, signIn, storedTask } from '../helpers'

let user: SignedIn
let task: Task
beforeEach(async () => {
  user = await signIn()
  task = await user.createTask({ title: 'Versioned', description: 'original' })
})

const send = (method: string, headers: Record<string, string>, body?: unknown, who: SignedIn = user) =>
  who.request(`/tasks/${task.id}`, { method, headers, ...(body !== undefined && { body }) })

/** 412 problem+json; it carries no ETag, so a client cannot skip the refetch and overwrite blindly. */
async function expectPreconditionFailed(res: Response) {
  const problem = await expectProblem(res, 412)
  expect(problem.type).toBe('/problems/precondition-failed')
  expect(res.headers.get('ETag')).toBeNull()
}

async function expectStoredUnchanged(version = 1) {
  expect(await storedTask(task.id)).toMatchObject({ title: 'Versioned', description: 'original', version })
}

describe('ETag and version', () => {
  it('starts at version 1 and sends "v<version>" on create, read, HEAD and every write', async () => {
    expect(task.version).toBe(1)
    const get = await send('GET', {})
    expect(get.headers.get('ETag')).toBe('"v1"')
    expect(await get.json()).toEqual(task)
    expect((await send('HEAD', {})).headers.get('ETag')).toBe('"v1"')

    const patched = await send('PATCH', {}, { completed: true })
    expect(patched.headers.get('ETag')).toBe('"v2"')
    expect(await patched.json()).toMatchObject({ version: 2, completed: true })
    const put = await send('PUT', {}, { title: 'Replaced' })
    expect(put.headers.get('ETag')).toBe('"v3"')
    expect(await put.json()).toMatchObject({ version: 3, title: 'Replaced' })
    expect(await storedTask(task.id)).toMatchObject({ version: 3, title: 'Replaced' })
  })

  it('bumps the version even for a write that changes no value', async () => {
    const res = await send('PATCH', {}, { title: 'Versioned' })
    expect(res.headers.get('ETag')).toBe('"v2"')
  })

  it('lists each task with its version', async () => {
    await send('PATCH', {}, { completed: true })
    const { items } = await (await user.request('/tasks')).json<{ items: Task[] }>()
    expect(items).toEqual([expect.objectContaining({ id: task.id, version: 2 })])
  })

  it('refuses, in the schema itself, a write that does not bump the version', async () => {
    await expect(env.DB.prepare("UPDATE tasks SET title = 'sneaky' WHERE id = ?1").bind(task.id).run()).rejects.toThrow(
      /version = version \+ 1/,
    )
    await expectStoredUnchanged()
  })
})

describe('If-None-Match on GET and HEAD', () => {
  it('answers 304 with the ETag and no body when the client has the current version', async () => {
    for (const method of ['GET', 'HEAD']) {
      for (const value of ['"v1"', 'W/"v1"', '*', '"v7", "v1"', '"x", W/"v1"', ' "v1" ,, ']) {
        const res = await send(method, { 'If-None-Match': value })
        expect(res.status, `${method} ${value}`).toBe(304)
        expect(res.headers.get('ETag')).toBe('"v1"')
        expect(await res.text()).toBe('')
      }
    }
  })

  it('answers 200 with the task once it has changed', async () => {
    await send('PATCH', {}, { title: 'Changed' })
    const res = await send('GET', { 'If-None-Match': '"v1"' })
    expect(res.status).toBe(200)
    expect(res.headers.get('ETag')).toBe('"v2"')
    expect(await res.json()).toMatchObject({ title: 'Changed', version: 2 })
  })

  it('answers 412 to a GET whose If-Match is stale', async () => {
    await expectPreconditionFailed(await send('GET', { 'If-Match': '"v2"' }))
    expect((await send('GET', { 'If-Match': '"v1"' })).status).toBe(200)
  })

  it('costs one D1 round trip for a 304', async () => {
    const { db, counter } = countingDb(env.DB)
    const res = await request(`/tasks/${task.id}`, {
      token: user.token,
      headers: { 'If-None-Match': '"v1"' },
      env: { DB: db },
    })
    expect(res.status).toBe(304)
    expect(counter.roundTrips).toBe(1)
  })
})

describe('If-Match on PATCH, PUT and DELETE', () => {
  const writes: [string, unknown?][] = [['PATCH', { title: 'Mine now' }], ['PUT', { title: 'Mine now' }], ['DELETE']]

  it('writes when the client holds the current version, and returns the next ETag', async () => {
    for (const value of ['"v1"', '"v9", "v1"', '*']) {
      const current = (await storedTask(task.id))!.version
      const res = await send('PATCH', { 'If-Match': value.replace('v1', `v${current}`) }, { description: value })
      expect(res.status, value).toBe(200)
      expect(res.headers.get('ETag')).toBe(`"v${current + 1}"`)
    }
    expect(await storedTask(task.id)).toMatchObject({ version: 4, description: '*' })
  })

  it('answers 412 and changes nothing when the version is stale', async () => {
    expect((await send('PATCH', {}, { description: 'original' })).status).toBe(200) // another device: now v2
    for (const [method, body] of writes) {
      await expectPreconditionFailed(await send(method, { 'If-Match': '"v1"' }, body))
      await expectStoredUnchanged(2)
    }
  })

  it('answers 412 to tags that are well-formed but name no current version', async () => {
    // Weak tags never match If-Match (strong comparison); other opaque-tags are not ours.
    for (const value of ['W/"v1"', '"v2"', '"1"', '"a,b"', '""', '"v01"', '"V1"']) {
      for (const [method, body] of writes) {
        await expectPreconditionFailed(await send(method, { 'If-Match': value }, body))
      }
    }
    await expectStoredUnchanged()
  })

  it('deletes when the version is current', async () => {
    expect((await send('DELETE', { 'If-Match': '"v1"' })).status).toBe(204)
    expect(await storedTask(task.id)).toBeNull()
  })

  it('answers 404, not 412, for a task that does not exist', async () => {
    const res = await user.request(`/tasks/${crypto.randomUUID()}`, {
      method: 'PATCH',
      headers: { 'If-Match': '"v1"' },
      body: { title: 'x' },
    })
    await expectProblem(res, 404)
  })

  it('answers 412 to If-None-Match on a write that names the current version, or *', async () => {
    for (const value of ['*', '"v1"', 'W/"v1"']) {
      for (const [method, body] of writes) {
        await expectPreconditionFailed(await send(method, { 'If-None-Match': value }, body))
      }
    }
    await expectStoredUnchanged()
    expect((await send('PATCH', { 'If-None-Match': '"v5"' }, { title: 'ok' })).status).toBe(200)
  })

  it('costs one D1 round trip when the condition holds, two to explain a 412', async () => {
    for (const [value, status, trips] of [
      ['"v1"', 200, 1],
      ['"v1"', 412, 2],
    ] as const) {
      const { db, counter } = countingDb(env.DB)
      const res = await request(`/tasks/${task.id}`, {
        method: 'PATCH',
        token: user.token,
        headers: { 'If-Match': value },
        body: { completed: true },
        env: { DB: db },
      })
      expect(res.status).toBe(status)
      expect(counter.roundTrips, counter.statements.join(' | ')).toBe(trips)
    }
  })
})

describe('malformed conditional headers', () => {
  // Not RFC 9110 syntax: a client bug, so 400 (a 412 would send it to refetch and retry forever).
  // An empty field never reaches the worker: workerd drops it, so it counts as absent.
  const MALFORMED = [
    'v1',
    '"v1',
    'v1"',
    'W/v1',
    'w/"v1"',
    '*, "v1"',
    '"v1" "v2"',
    ',',
    ' , ',
    '**',
    "'v1'",
    '"v\u00011"',
  ]

  it('answers 400 naming the header, and writes nothing', async () => {
    for (const header of ['If-Match', 'If-None-Match']) {
      for (const value of MALFORMED) {
        for (const [method, body] of [
          ['GET'],
          ['PATCH', { title: 'x' }],
          ['PUT', { title: 'x' }],
          ['DELETE'],
        ] as const) {
          const res = await send(method, { [header]: value }, body)
          expect(invalidNames(await expectProblem(res, 400)), `${method} ${header}: ${value}`).toEqual([header])
        }
      }
    }
    await expectStoredUnchanged()
  })
})

describe('user B against A', () => {
  let b: SignedIn
  beforeEach(async () => {
    b = await signIn()
  })

  it("answers 403, never 412 or 304, whatever B's conditional headers say about A's task", async () => {
    const probes: [string, Record<string, string>, unknown?][] = [
      ['GET', { 'If-None-Match': '"v1"' }],
      ['GET', { 'If-None-Match': '*' }],
      ['GET', { 'If-Match': '"v2"' }],
      ['HEAD', { 'If-None-Match': '"v1"' }],
    ]
    for (const value of ['"v1"', '"v2"', '*', 'W/"v1"']) {
      probes.push(
        ['PATCH', { 'If-Match': value }, { title: 'pwned' }],
        ['PUT', { 'If-Match': value }, { title: 'pwned' }],
      )
      probes.push(['DELETE', { 'If-Match': value }], ['PATCH', { 'If-None-Match': value }, { title: 'pwned' }])
    }
    for (const [method, headers, body] of probes) {
      const res = await send(method, headers, body, b)
      expect(res.status, `${method} ${JSON.stringify(headers)}`).toBe(403)
      expect(res.headers.get('ETag')).toBeNull()
      if (method !== 'HEAD') expect((await res.json<{ type: string }>()).type).toBe('/problems/forbidden')
    }
    await expectStoredUnchanged()
  })
})

describe('concurrent writers', () => {
  it('lets exactly one of 20 PATCHes holding the same ETag through; the others get 412', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => send('PATCH', { 'If-Match': '"v1"' }, { title: `writer ${i}` })),
    )
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 412)).toHaveLength(19)
    const winner = await responses.find((r) => r.status === 200)!.json<Task>()
    expect(winner.version).toBe(2)
    expect(await storedTask(task.id)).toMatchObject({ version: 2, title: winner.title })
  })

  it('lets exactly one of 20 DELETEs holding the same ETag through; the others find it gone', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => send('DELETE', { 'If-Match': '"v1"' })))
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 204)).toHaveLength(1)
    expect(statuses.filter((s) => s === 404)).toHaveLength(19)
    const tombstones = await env.DB.prepare('SELECT count(*) AS n FROM task_tombstones WHERE id = ?1')
      .bind(task.id)
      .first<{ n: number }>()
    expect(tombstones?.n).toBe(1)
  })
})
