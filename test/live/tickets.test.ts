/**
 * POST /tasks/live/ticket: what a browser opens its live socket with. A ticket is single-use, lives
 * at most a minute and never past its token, opens only its own user's socket, is kept only as a
 * hash and never written to a log.
 */
import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { sha256Hex } from '../../src/hash'
import { MAX_TICKETS, userObject } from '../../src/live/object'
import { API_RESOURCE, apiAccessToken, expectProblem, fetchWorker, nowSeconds, request, signIn } from '../helpers'
import { breakDatabaseOf, listen, sleep, ticketFor, upgrade } from './socket'

afterEach(() => vi.restoreAllMocks())

const TICKET = /^[0-9a-f]{64}\.[0-9a-f]{64}$/

/** The stored keys of `userId`'s object. */
const storedKeys = (userId: string) =>
  runInDurableObject(userObject(env, userId), async (_, state) => [...(await state.storage.list()).keys()])

describe('POST /tasks/live/ticket', () => {
  it('answers 201 with a ticket, the wss:// URL that opens a socket with it, and expiresIn 60', async () => {
    const user = await signIn()
    const res = await user.request('/tasks/live/ticket', { method: 'POST' })
    expect(res.status).toBe(201)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const body = await res.json<{ ticket: string; url: string; expiresIn: number }>()
    expect(Object.keys(body).sort()).toEqual(['expiresIn', 'ticket', 'url'])
    expect(body.ticket).toMatch(TICKET)
    expect(body.expiresIn).toBe(60)
    const url = new URL(body.url)
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe('wss://tasks.test/tasks/live')
    expect([...url.searchParams]).toEqual([['ticket', body.ticket]])
    const live = listen(await upgrade(`${url.pathname}${url.search}`))
    expect(await live.next()).toMatchObject({ type: 'ready' })
  })

  it('gives a ws:// URL on a plain-HTTP origin (npm run dev)', async () => {
    const user = await signIn()
    const res = await fetchWorker('http://localhost:8787/tasks/live/ticket', {
      method: 'POST',
      headers: { Authorization: `Bearer ${user.token}` },
    })
    const { url, ticket } = await res.json<{ url: string; ticket: string }>()
    expect(url).toBe(`ws://localhost:8787/tasks/live?ticket=${ticket}`)
  })

  it('never outlives its token: expiresIn is at most the seconds the token has left', async () => {
    const user = await signIn({ exp: nowSeconds() + 10 })
    const { expiresIn } = await ticketFor(user)
    expect(expiresIn).toBeGreaterThanOrEqual(9)
    expect(expiresIn).toBeLessThanOrEqual(10)
  })

  it('refuses with 401, and keeps nothing, for a token that is past its exp but within the clock skew', async () => {
    const user = await signIn({ exp: nowSeconds() - 5 })
    // The token is still accepted elsewhere: the skew allows it.
    expect((await user.request('/tasks')).status).toBe(200)
    const res = await user.request('/tasks/live/ticket', { method: 'POST' })
    const problem = await expectProblem(res, 401)
    expect(problem.detail).toMatch(/expires too soon/)
    expect(res.headers.get('WWW-Authenticate')).toMatch(/error="invalid_token"/)
    expect(await storedKeys(user.id)).toEqual([])
  })

  it('refuses without a token (401), and 405 for other methods', async () => {
    await expectProblem(await request('/tasks/live/ticket', { method: 'POST' }), 401)
    const user = await signIn()
    const res = await user.request('/tasks/live/ticket')
    await expectProblem(res, 405)
    expect(res.headers.get('Allow')).toBe('POST')
  })

  it('takes an OAuth access token with tasks:read, and refuses one without it (403)', async () => {
    const api = API_RESOURCE
    const user = await signIn()
    const accessToken = (scope: string) => apiAccessToken(user.id, scope)
    const read = await request('/tasks/live/ticket', {
      method: 'POST',
      token: await accessToken('tasks:read'),
      env: api,
    })
    expect(read.status).toBe(201)
    const writeOnly = await request('/tasks/live/ticket', {
      method: 'POST',
      token: await accessToken('tasks:write'),
      env: api,
    })
    await expectProblem(writeOnly, 403)
    expect(writeOnly.headers.get('WWW-Authenticate')).toMatch(/scope="tasks:read"/)
  })

  it('keeps only a hash of the secret, in the user’s own object', async () => {
    const user = await signIn()
    const { ticket } = await ticketFor(user)
    const [id, secret] = ticket.split('.')
    expect(id).toBe(env.USER.idFromName(user.id).toString())
    const keys = await storedKeys(user.id)
    expect(keys).toHaveLength(1)
    expect(keys[0]).not.toContain(secret)
  })

  it(`keeps at most ${MAX_TICKETS} unused tickets per user: the oldest goes first`, async () => {
    const user = await signIn()
    const first = await ticketFor(user)
    for (let i = 0; i < MAX_TICKETS; i++) await ticketFor(user)
    expect(await storedKeys(user.id)).toHaveLength(MAX_TICKETS)
    await expectProblem(await upgrade(`/tasks/live?ticket=${first.ticket}`), 401)
  })
})

describe('a ticket at GET /tasks/live', () => {
  it('opens one socket only: used again it is a 401, and the first socket still works', async () => {
    const user = await signIn()
    const { ticket } = await ticketFor(user)
    const live = listen(await upgrade(`/tasks/live?ticket=${ticket}`))
    expect(await live.next()).toMatchObject({ type: 'ready' })
    const again = await upgrade(`/tasks/live?ticket=${ticket}`)
    const problem = await expectProblem(again, 401)
    expect(problem.detail).toMatch(/ticket/)
    expect(again.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm="tasks", error="invalid_token"/)
    expect(await storedKeys(user.id)).toEqual([])
    live.socket.send('ping')
    expect(await live.next()).toBe('pong')
  })

  it('opens one socket when two requests race with it: the other is a 401', async () => {
    const user = await signIn()
    const { ticket } = await ticketFor(user)
    const responses = await Promise.all(Array.from({ length: 5 }, () => upgrade(`/tasks/live?ticket=${ticket}`)))
    expect(responses.map((res) => res.status).sort()).toEqual([101, 401, 401, 401, 401])
    for (const res of responses.filter((res) => res.status === 401)) await expectProblem(res, 401)
    listen(responses.find((res) => res.status === 101)!)
  })

  it('is refused once expired (401), even unused', async () => {
    const user = await signIn({ exp: nowSeconds() + 2 })
    const { ticket, expiresIn } = await ticketFor(user)
    await sleep(expiresIn * 1000 + 1100)
    await expectProblem(await upgrade(`/tasks/live?ticket=${ticket}`), 401)
  })

  it('is refused once expired even before the alarm has swept it away', async () => {
    const user = await signIn({ exp: nowSeconds() + 2 })
    const { ticket, expiresIn } = await ticketFor(user)
    await runInDurableObject(userObject(env, user.id), (_, state) => state.storage.deleteAlarm())
    await sleep(expiresIn * 1000 + 1100)
    expect(await storedKeys(user.id)).toHaveLength(1)
    // Refused at authentication, before anything else is looked at.
    await expectProblem(await request(`/tasks/live?ticket=${ticket}`), 401)
    await expectProblem(await upgrade(`/tasks/live?ticket=${ticket}`), 401)
  })

  it("opens only its own user's object: another user's id, or a secret moved to it, is a 401", async () => {
    const [alice, bob] = [await signIn(), await signIn()]
    const [a, b] = [await ticketFor(alice), await ticketFor(bob)]
    const [aliceId, aliceSecret] = a.ticket.split('.')
    const [bobId, bobSecret] = b.ticket.split('.')
    for (const forged of [`${bobId}.${aliceSecret}`, `${aliceId}.${bobSecret}`]) {
      await expectProblem(await upgrade(`/tasks/live?ticket=${forged}`), 401)
    }
    // Neither real ticket was used up by the forgeries.
    const live = listen(await upgrade(`/tasks/live?ticket=${a.ticket}`))
    expect(await live.next()).toMatchObject({ type: 'ready' })
    listen(await upgrade(`/tasks/live?ticket=${b.ticket}`))
  })

  it("is refused when the record found names another user than the object's (defence in depth)", async () => {
    const [alice, bob] = [await signIn(), await signIn()]
    const { ticket } = await ticketFor(alice)
    const [id, secret] = ticket.split('.')
    // Plant, in Alice's object, a record of the same secret that claims to be Bob's.
    await runInDurableObject(userObject(env, alice.id), async (instance) => {
      await instance.keepTicket(await sha256Hex(secret!), {
        userId: bob.id,
        tokenExpiry: nowSeconds() + 900,
        expiresAt: Date.now() + 60_000,
      })
    })
    await expectProblem(await upgrade(`/tasks/live?ticket=${id}.${secret}`), 401)
  })

  it('refuses anything that is not a ticket with 401: empty, malformed, random, an id of no object', async () => {
    const user = await signIn()
    const { ticket } = await ticketFor(user)
    const [id] = ticket.split('.')
    const hex = (n: number) => 'ab'.repeat(n / 2)
    for (const bad of ['', 'x', ticket.toUpperCase(), `${ticket}0`, `${hex(64)}.${hex(64)}`, `${id}.${hex(64)}`]) {
      const res = await upgrade(`/tasks/live?ticket=${encodeURIComponent(bad)}`)
      await expectProblem(res, 401)
      expect(res.webSocket).toBeNull()
    }
  })

  it('a bearer token in the query is not a ticket (401)', async () => {
    const user = await signIn()
    await expectProblem(await upgrade(`/tasks/live?ticket=${user.token}`), 401)
  })

  it('never writes a ticket, or its secret, to a log line: issued, used, refused or failing', async () => {
    const lines: string[] = []
    for (const level of ['log', 'info', 'warn', 'error'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '))
      })
    }
    const user = await signIn()
    const used = await ticketFor(user)
    const live = listen(await upgrade(`/tasks/live?ticket=${used.ticket}`))
    await live.next()
    await upgrade(`/tasks/live?ticket=${used.ticket}`)
    const refused = await ticketFor(user)
    await upgrade(`/tasks/live?ticket=${refused.ticket}`, { Origin: 'https://evil.example' })
    await upgrade(`/tasks/live?ticket=${refused.ticket}&extra=1`)
    // A database outage while connecting: logged, with no ticket in it.
    const failing = await ticketFor(user)
    await breakDatabaseOf(user.id)
    await expectProblem(await upgrade(`/tasks/live?ticket=${failing.ticket}`), 503)
    expect(lines.some((line) => line.includes('live connect failed'))).toBe(true)
    expect(lines.some((line) => line.includes('"message":"request"'))).toBe(true)
    for (const { ticket } of [used, refused, failing]) {
      const secret = ticket.split('.')[1]!
      for (const line of lines) expect(line).not.toContain(secret)
    }
  })
})
