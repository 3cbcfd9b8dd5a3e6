/**
 * What a live socket hears: `ready` with the user's current sync token, then `changed` with the
 * token after each poke, on every socket of that user and no other; bursts coalesced without losing
 * the last change; `ping` answered without waking the object; nothing else answered at all.
 */
import { evictDurableObject, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest'
import { type LiveMessage, userObject } from '../../src/live/object'
import { poke, pokeUser } from '../../src/live/poke'
import { decodeToken, type SyncToken } from '../../src/tasks/sync-token'
import { feed, signIn } from '../helpers'
import { breakDatabaseOf, connected, listen, sleep, upgrade } from './socket'

afterEach(() => vi.restoreAllMocks())

/**
 * Until the test ends, `userId`'s object reads D1 as it is when asked but answers half a second
 * later: a write committed meanwhile is newer than the answer.
 */
async function slowReadsIn(userId: string): Promise<void> {
  const slow = {
    prepare: (sql: string) => ({
      bind: (...values: unknown[]) => ({
        first: async () => {
          const row = await env.DB.prepare(sql)
            .bind(...values)
            .first()
          await sleep(500)
          return row
        },
      }),
    }),
  }
  await runInDurableObject(userObject(env, userId), (instance) => {
    Object.assign(instance, { env: { ...env, DB: slow } })
  })
  onTestFinished(() => evictDurableObject(userObject(env, userId)))
}

describe('a live socket', () => {
  it("is sent ready with the user's current sync token: the one a full pull ends at", async () => {
    const user = await signIn()
    await user.createTask()
    await user.createTask()
    const live = await connected(user)
    expect(live.ready.token).toBe((await feed(user)).token)
  })

  it('is sent ready with the empty position for a user with nothing written yet', async () => {
    const user = await signIn()
    const live = await connected(user)
    expect(live.ready.token).toBe((await feed(user)).token)
  })

  it('is sent changed with the token after the change; pulling from its old token gets the change', async () => {
    const user = await signIn()
    const live = await connected(user)
    const task = await user.createTask({ title: 'new' })
    await poke(env, user.id)
    const changed = (await live.next()) as LiveMessage
    expect(changed).toEqual({ type: 'changed', token: expect.any(String) })
    expect(changed.token).not.toBe(live.ready.token)
    const page = await feed(user, live.ready.token)
    expect(page.tasks.map((t) => t.id)).toEqual([task.id])
    expect(page.token).toBe(changed.token)
  })

  it("reaches every socket of the user, and none of another user's", async () => {
    const [alice, bob] = [await signIn(), await signIn()]
    const [phone, laptop, bobs] = [await connected(alice), await connected(alice), await connected(bob)]
    await alice.createTask()
    await poke(env, alice.id)
    const token = (await feed(alice)).token
    expect(await phone.next()).toEqual({ type: 'changed', token })
    expect(await laptop.next()).toEqual({ type: 'changed', token })
    await sleep(200)
    expect(bobs.messages).toEqual([bobs.ready])
  })

  it('hears a write poked while it was being connected, though its ready token predates the write', async () => {
    const user = await signIn()
    await slowReadsIn(user.id)
    const connecting = upgrade('/tasks/live', { Authorization: `Bearer ${user.token}` })
    await sleep(250)
    await user.createTask({ title: 'during the connect' })
    await poke(env, user.id)
    const live = listen(await connecting)
    const ready = (await live.next()) as LiveMessage
    const token = (await feed(user)).token
    expect(ready).toMatchObject({ type: 'ready' })
    expect(ready.token).not.toBe(token)
    expect(await live.next(3000)).toEqual({ type: 'changed', token })
  })

  it('reads again for a poke that came during a read, so the last message covers its write', async () => {
    const user = await signIn()
    const live = await connected(user)
    const task = await user.createTask({ title: 'deleted during the read' })
    const told = (await live.next()) as LiveMessage
    await slowReadsIn(user.id)
    const first = poke(env, user.id)
    await sleep(150)
    // A delete pokes without a sequence number (its tombstone's is the trigger's): it joins the read.
    expect((await user.request(`/tasks/${task.id}`, { method: 'DELETE' })).status).toBe(204)
    await poke(env, user.id)
    await first
    const heard = live.messages.slice(2) as LiveMessage[]
    expect(heard).toHaveLength(2)
    expect(heard[0]!.token).toBe(told.token)
    expect(heard[1]).toEqual({ type: 'changed', token: (await feed(user)).token })
  })

  it('loses nothing in a burst of writes: one message each, and the last covers every change in it', async () => {
    const user = await signIn()
    const live = await connected(user)
    const writes = 12
    await Promise.all(Array.from({ length: writes }, (_, i) => user.createTask({ title: `burst ${i}` })))
    const final = await feed(user, live.ready.token)
    expect(final.tasks).toHaveLength(writes)
    // The writes' own pokes run after their responses.
    await expect.poll(() => live.messages.length).toBe(1 + writes)
    const heard = live.messages.slice(1) as LiveMessage[]
    expect(heard.at(-1)).toEqual({ type: 'changed', token: final.token })
  })

  it('sends at most two messages for pokes that arrive together: one read, and one more for those during it', async () => {
    const user = await signIn()
    const live = await connected(user)
    for (let i = 0; i < 5; i++) await user.createTask({ title: `before ${i}` })
    // The writes' own pokes (through the task service) come and go first.
    await expect.poll(async () => (live.messages.at(-1) as LiveMessage).token).toBe((await feed(user)).token)
    const before = live.messages.length
    await Promise.all(Array.from({ length: 20 }, () => poke(env, user.id)))
    const heard = live.messages.slice(before) as LiveMessage[]
    expect(heard.length).toBeGreaterThanOrEqual(1)
    expect(heard.length).toBeLessThanOrEqual(2)
    expect(heard.at(-1)).toEqual({ type: 'changed', token: (await feed(user)).token })
  })

  it('answers ping with pong without waking its hibernated object, and ignores anything else', async () => {
    const user = await signIn()
    const live = await connected(user)
    const stub = userObject(env, user.id)
    await evictDurableObject(stub)
    live.socket.send('ping')
    expect(await live.next()).toBe('pong')
    // Not running: the ping did not wake it.
    await expect(evictDurableObject(stub)).rejects.toThrow()
    for (const message of ['PING', 'hello', '{"type":"changed","token":"x"}', new Uint8Array([1, 2])]) {
      live.socket.send(message)
    }
    await sleep(200)
    expect(live.messages).toEqual([live.ready, 'pong'])
    live.socket.send('ping')
    expect(await live.next()).toBe('pong')
  })
})

describe('a write that knows its sequence number', () => {
  /** The user's socket with the object's own D1 broken: only a poke that needs no read is heard. */
  async function listeningWithoutD1() {
    const user = await signIn()
    const live = await connected(user)
    await breakDatabaseOf(user.id)
    return { user, live }
  }

  it('is told through every door that returns it, with the token a pull ends at, without the object reading D1', async () => {
    const { user, live } = await listeningWithoutD1()
    const errors = vi.spyOn(console, 'error')
    const heard = async () => {
      await expect.poll(() => live.messages.length).toBeGreaterThan(heard.count)
      heard.count = live.messages.length
      expect(live.messages.at(-1)).toEqual({ type: 'changed', token: (await feed(user)).token })
    }
    heard.count = live.messages.length
    const task = await user.createTask()
    await heard()
    const keyed = { method: 'POST', body: { title: 'keyed' }, headers: { 'Idempotency-Key': 'seq' } }
    expect((await user.request('/tasks', keyed)).status).toBe(201)
    await heard()
    expect((await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { priority: 'high' } })).status).toBe(200)
    await heard()
    expect((await user.request(`/api/tasks/${task.number}/toggle`, { method: 'PATCH' })).status).toBe(200)
    await heard()
    const recurring = await user.createTask({ dueAt: '2027-03-27T08:00:00Z', recurrence: { frequency: 'daily' } })
    await heard()
    // The series write: the task and its successor in one batch; the token covers both.
    expect((await user.request(`/tasks/${recurring.id}`, { method: 'PATCH', body: { completed: true } })).status).toBe(
      200,
    )
    await heard()
    expect(errors.mock.calls.map(([line]) => String(line)).filter((line) => line.includes('live poke failed'))).toEqual(
      [],
    )
  })

  it('never moves a socket back to an older number, whether the older one is passed or read', async () => {
    const user = await signIn()
    const live = await connected(user)
    await user.createTask()
    const now = ((await live.next()) as LiveMessage).token
    const { after } = decodeToken(now) as SyncToken
    await poke(env, user.id, after + 100)
    const ahead = (await live.next()) as LiveMessage
    expect(ahead.token).not.toBe(now)
    await poke(env, user.id, after)
    expect(await live.next()).toEqual(ahead)
    await poke(env, user.id)
    expect(await live.next()).toEqual(ahead)
  })
})

describe('pokeUser', () => {
  it('hands the poke to waitUntil and returns at once', async () => {
    const user = await signIn()
    const live = await connected(user)
    await user.createTask()
    const waited: Promise<unknown>[] = []
    pokeUser(env, (promise) => waited.push(promise), user.id)
    expect(waited).toHaveLength(1)
    await Promise.all(waited)
    expect(await live.next()).toMatchObject({ type: 'changed' })
  })

  it('logs a failed poke, with the user as a pseudonym, and never rejects', async () => {
    const user = await signIn()
    const live = await connected(user)
    await breakDatabaseOf(user.id)
    const errors: string[] = []
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      errors.push(String(line))
    })
    await expect(poke(env, user.id)).resolves.toBeUndefined()
    const logged = errors.map((line) => JSON.parse(line)).find((line) => line.message === 'live poke failed')
    expect(logged).toMatchObject({ level: 'error', user: expect.stringMatching(/^[0-9a-f]{16}$/) })
    expect(errors.join('\n')).not.toContain(user.id)
    expect(live.messages).toEqual([live.ready])
  })

  it('does nothing for a user with no open socket', async () => {
    const user = await signIn()
    await breakDatabaseOf(user.id)
    const error = vi.spyOn(console, 'error')
    await poke(env, user.id)
    expect(error).not.toHaveBeenCalled()
  })
})
