/**
 * A write pokes the user's Durable Object only while the user may be listening: the object marks
 * the user in D1 as it accepts a socket (until the socket's token expires, plus a margin), and every
 * write reads the mark in its own statement. A user nobody listens for costs no call to the object.
 */
import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import { CLOCK_MARGIN_MS, userObject } from '../../src/live/object'
import { decodeJwtPart, nowSeconds, type RequestOptions, request, type SignedIn, signIn, tokenFor } from '../helpers'
import { connected, type Listener, sleep } from './socket'

let open: Listener[] = []
afterEach(() => {
  for (const { socket } of open) socket.close(1000, 'test over')
  open = []
})

/** How many pokes the user's object has taken since it started. */
const pokesOf = (userId: string) =>
  runInDurableObject(userObject(env, userId), (instance) => (instance as unknown as { pokes: number }).pokes)

/** The user's mark (migrations/0015), or null without a counter row. */
const markOf = async (userId: string) =>
  (await env.DB.prepare('SELECT live_until FROM task_counts WHERE user_id = ?1')
    .bind(userId)
    .first<number>('live_until')) ?? null

/** `res` has `status`. */
async function expectStatus(res: Response, status: number) {
  expect(res.status, await res.clone().text()).toBe(status)
}

/** A write through each door that writes: REST create (plain and keyed), PATCH, /api toggle, DELETE, bulk delete. */
async function writeThroughEveryDoor(user: SignedIn) {
  const task = await user.createTask({ completed: true })
  const keyed = { method: 'POST', body: { title: 'keyed' }, headers: { 'Idempotency-Key': 'k' } }
  await expectStatus(await user.request('/tasks', keyed), 201)
  await expectStatus(await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { priority: 'high' } }), 200)
  await expectStatus(await user.request(`/api/tasks/${task.number}/toggle`, { method: 'PATCH' }), 200)
  await expectStatus(await user.request(`/api/tasks/${task.number}/toggle`, { method: 'PATCH' }), 200)
  await expectStatus(await user.request('/tasks?completed=true', { method: 'DELETE' }), 200)
  const other = await user.createTask()
  await expectStatus(await user.request(`/tasks/${other.id}`, { method: 'DELETE' }), 204)
  // The pokes run in waitUntil.
  await sleep(100)
}

describe('a write pokes the user object', () => {
  it('never for a user who has not listened', async () => {
    const user = await signIn()
    await writeThroughEveryDoor(user)
    expect(await pokesOf(user.id)).toBe(0)
  })

  it('for every write while a socket may be open, and marks the user until its token expires', async () => {
    const user = await signIn()
    open.push(await connected(user))
    const { exp } = decodeJwtPart(user.token, 1) as { exp: number }
    expect(await markOf(user.id)).toBe(exp * 1000 + CLOCK_MARGIN_MS)
    const before = await pokesOf(user.id)
    await writeThroughEveryDoor(user)
    // Eight writes: create, keyed create, PATCH, two toggles, the bulk delete, then a create and its delete.
    expect((await pokesOf(user.id)) - before).toBe(8)
  })

  it('no more once every mark has passed, and again after the next connect', async () => {
    const user = await signIn()
    const live = await connected(user)
    live.socket.close(1000, 'done')
    // As when the token it was opened with has expired (its socket closed then).
    await env.DB.prepare('UPDATE task_counts SET live_until = ?2 WHERE user_id = ?1')
      .bind(user.id, Date.now() - 1)
      .run()
    const before = await pokesOf(user.id)
    await user.createTask()
    await sleep(100)
    expect(await pokesOf(user.id)).toBe(before)

    open.push(await connected(user))
    await user.createTask()
    await sleep(100)
    expect(await pokesOf(user.id)).toBe(before + 1)
  })

  it('a socket opened with a shorter-lived token never lowers the mark', async () => {
    const user = await signIn()
    open.push(await connected(user))
    const mark = await markOf(user.id)
    const token = await tokenFor(user.id, { exp: nowSeconds() + 120 })
    const sameUser = {
      ...user,
      token,
      request: (path: string, o: RequestOptions = {}) => request(path, { ...o, token }),
    }
    open.push(await connected(sameUser))
    expect(await markOf(user.id)).toBe(mark)
  })
})
