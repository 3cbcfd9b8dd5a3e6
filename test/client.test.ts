import { exports } from 'cloudflare:workers'
import type { InferRequestType, InferResponseType } from 'hono/client'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { type Client, createClient } from '../src/client'
import type { Task } from '../src/tasks/model'
import { BASE, signIn, storedTask } from './helpers'

const clientFor = (token?: string | (() => string)) =>
  createClient(BASE, {
    ...(token !== undefined && { token }),
    fetch: (input, init) => exports.default.fetch(input, init),
  })

describe('the typed client (src/client.ts)', () => {
  it('creates, lists, gets (and 304s), patches, syncs and deletes through the worker', async () => {
    const user = await signIn()
    const api = clientFor(user.token)

    const created = await api.tasks.$post({ json: { title: 'Typed', tags: ['client'] } })
    expect(created.status).toBe(201)
    if (created.status !== 201) throw new Error('create failed')
    const task = await created.json()
    expect(task).toMatchObject({ title: 'Typed', tags: ['client'], completed: false })
    expect(await storedTask(task.id)).toMatchObject({ user_id: user.id, title: 'Typed' })

    const page = await api.tasks.$get({ query: { limit: '10' } })
    expect(page.status).toBe(200)
    if (page.status !== 200) throw new Error('list failed')
    expect((await page.json()).items.map((t) => t.id)).toEqual([task.id])

    const got = await api.tasks[':id'].$get({ param: { id: task.id } })
    if (got.status !== 200) throw new Error('get failed')
    expect(await got.json()).toEqual(task)

    const patched = await api.tasks[':id'].$patch({ param: { id: task.id }, json: { completed: true } })
    if (patched.status !== 200) throw new Error('patch failed')
    expect(await patched.json()).toMatchObject({ id: task.id, completed: true, completedAt: expect.any(String) })

    const unchanged = await api.tasks[':id'].$get({
      param: { id: task.id },
      header: { 'if-none-match': patched.headers.get('ETag')! },
    })
    expect(unchanged.status).toBe(304)

    const changes = await api.tasks.changes.$get()
    if (changes.status !== 200) throw new Error('changes failed')
    expect((await changes.json()).tasks.map((t) => t.id)).toEqual([task.id])

    const deleted = await api.tasks[':id'].$delete({ param: { id: task.id } })
    expect(deleted.status).toBe(204)
    expect(await storedTask(task.id)).toBeNull()
  })

  it('sends Idempotency-Key as a typed header, and replays', async () => {
    const user = await signIn()
    const api = clientFor(() => user.token)
    const header = { 'idempotency-key': crypto.randomUUID() }
    const first = await api.tasks.$post({ json: { title: 'Once' }, header })
    const again = await api.tasks.$post({ json: { title: 'Once' }, header })
    expect(again.headers.get('Idempotent-Replayed')).toBe('true')
    expect(await again.json()).toEqual(await first.json())
  })

  it('surfaces problems as responses, and sends no token when it has none', async () => {
    const res = await clientFor().me.$get()
    expect(res.status).toBe(401)
    expect(res.headers.get('Content-Type')).toBe('application/problem+json')
  })

  it('types requests and responses from the routes', () => {
    type CreateBody = InferRequestType<Client['tasks']['$post']>['json']
    expectTypeOf<CreateBody>().toHaveProperty('title').toEqualTypeOf<string>()
    expectTypeOf<CreateBody>().not.toHaveProperty('user_id')
    expectTypeOf<CreateBody>().not.toHaveProperty('id')
    expectTypeOf<InferResponseType<Client['tasks']['$post'], 201>>().toEqualTypeOf<Task>()
    expectTypeOf<InferResponseType<Client['tasks'][':id']['$get'], 200>>().toEqualTypeOf<Task>()
    expectTypeOf<InferResponseType<Client['tasks']['$get'], 200>>().toEqualTypeOf<{
      items: Task[]
      nextCursor: string | null
    }>()
    expectTypeOf<InferResponseType<Client['tasks']['$delete'], 200>>().toEqualTypeOf<{ deleted: number }>()
    expectTypeOf<InferRequestType<Client['tasks']['$delete']>['query']>().toEqualTypeOf<{ completed: string }>()
    expectTypeOf<InferResponseType<Client['me']['$get'], 200>>().toEqualTypeOf<{
      sub: string
      email: string | null
      name: string | null
    }>()
    type PatchBody = InferRequestType<Client['tasks'][':id']['$patch']>['json']
    expectTypeOf<PatchBody>().toEqualTypeOf<{
      title?: string | undefined
      description?: string | undefined
      completed?: boolean | undefined
      priority?: 'low' | 'medium' | 'high' | undefined
      dueAt?: string | null | undefined
      tags?: string[] | undefined
      recurrence?:
        | {
            frequency: 'daily' | 'weekly' | 'monthly' | 'yearly'
            interval?: number | undefined
            weekdays?: ('mo' | 'tu' | 'we' | 'th' | 'fr' | 'sa' | 'su')[] | null | undefined
            until?: string | null | undefined
            count?: number | null | undefined
          }
        | null
        | undefined
      timeZone?: string | undefined
      remindAt?: string | null | undefined
    }>()

    const api = clientFor('t')
    // @ts-expect-error user_id is not a field a client can send: a task belongs to the token's user
    void (() => api.tasks.$post({ json: { title: 'x', user_id: 'someone-else' } }))
    // @ts-expect-error title is required on create
    void (() => api.tasks.$post({ json: { description: 'no title' } }))
    // @ts-expect-error the id is a path parameter the client must give
    void (() => api.tasks[':id'].$get({}))
  })
})
