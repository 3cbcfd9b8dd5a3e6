/**
 * How long a live socket lives: until the token it was opened with (or the ticket's token)
 * expires, or the account is erased; and across the object's hibernation, as long as that.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { CLOSE, userObject } from '../../src/live/object'
import { poke } from '../../src/live/poke'
import { feed, nowSeconds, signIn, tokenFor } from '../helpers'
import { connected, listen, sleep, ticketFor, upgrade } from './socket'

describe('a live socket closes', () => {
  it('with 4001 when the token it was opened with expires', async () => {
    const user = await signIn({ exp: nowSeconds() + 2 })
    const live = listen(await upgrade('/tasks/live', { Authorization: `Bearer ${user.token}` }))
    await live.next()
    const started = Date.now()
    expect(await live.closed).toEqual(CLOSE.expired)
    expect(CLOSE.expired.code).toBe(4001)
    expect(Date.now() - started).toBeLessThan(4000)
  })

  it("with 4001 when the token a ticket was issued under expires, not at the ticket's own expiry", async () => {
    const user = await signIn({ exp: nowSeconds() + 3 })
    const live = await connected(user)
    const longer = await signIn()
    const kept = await connected(longer)
    expect(await live.closed).toEqual(CLOSE.expired)
    // A socket of a longer token is left open.
    kept.socket.send('ping')
    expect(await kept.next()).toBe('pong')
  })

  it('keeps each socket’s expiry across hibernation, and the alarm set for the soonest', async () => {
    const exp = nowSeconds() + 600
    const later = await signIn({ exp: exp + 60 })
    const live = listen(await upgrade('/tasks/live', { Authorization: `Bearer ${later.token}` }))
    await live.next()
    // Another token of the same user, expiring sooner.
    const sooner = listen(
      await upgrade('/tasks/live', { Authorization: `Bearer ${await tokenFor(later.id, { exp })}` }),
    )
    await sooner.next()
    const stub = userObject(env, later.id)
    const alarm = () => runInDurableObject(stub, (_, state) => state.storage.getAlarm())
    expect(await alarm()).toBe(exp * 1000)
    await evictDurableObject(stub)
    // An alarm that comes early closes nothing, and is set again for the soonest expiry.
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    for (const socket of [live, sooner]) {
      socket.socket.send('ping')
      expect(await socket.next()).toBe('pong')
    }
    expect(await alarm()).toBe(exp * 1000)
  })

  it('with 4002 on DELETE /me, every socket of the user, and the unused tickets are forgotten', async () => {
    const [user, other] = [await signIn(), await signIn()]
    const [phone, laptop, others] = [await connected(user), await connected(user), await connected(other)]
    const unused = await ticketFor(user)
    expect((await user.request('/me', { method: 'DELETE' })).status).toBe(204)
    expect(await phone.closed).toEqual(CLOSE.erased)
    expect(await laptop.closed).toEqual(CLOSE.erased)
    expect(CLOSE.erased.code).toBe(4002)
    const stored = await runInDurableObject(userObject(env, user.id), async (_, state) => ({
      keys: [...(await state.storage.list()).keys()],
      alarm: await state.storage.getAlarm(),
    }))
    expect(stored).toEqual({ keys: [], alarm: null })
    expect((await upgrade(`/tasks/live?ticket=${unused.ticket}`)).status).toBe(401)
    // The other user's socket is untouched.
    others.socket.send('ping')
    expect(await others.next()).toBe('pong')
  })
})

describe('a hibernated live socket', () => {
  it('still hears a change after its object was evicted', async () => {
    const user = await signIn()
    const [phone, laptop] = [await connected(user), await connected(user)]
    const stub = userObject(env, user.id)
    await evictDurableObject(stub)
    await user.createTask()
    await poke(env, user.id)
    const token = (await feed(user)).token
    expect(await phone.next()).toEqual({ type: 'changed', token })
    expect(await laptop.next()).toEqual({ type: 'changed', token })
  })

  it('is closed by the alarm of an evicted object when its token expires', async () => {
    const user = await signIn({ exp: nowSeconds() + 2 })
    const live = await connected(user)
    await evictDurableObject(userObject(env, user.id))
    expect(await live.closed).toEqual(CLOSE.expired)
  })

  it('is dropped on eviction with its sockets closed (a deploy), and the client reconnects and resumes', async () => {
    const user = await signIn()
    const live = await connected(user)
    await evictDurableObject(userObject(env, user.id), { webSockets: 'close' })
    const { code } = await live.closed
    expect(code).not.toBe(CLOSE.expired.code)
    await user.createTask({ title: 'while away' })
    const again = await connected(user)
    expect(again.ready.token).not.toBe(live.ready.token)
    const missed = await feed(user, live.ready.token)
    expect(missed.tasks.map((t) => t.title)).toEqual(['while away'])
    await sleep(0)
  })
})
