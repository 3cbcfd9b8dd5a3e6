/**
 * Webhook delivery (docs/events.md): the queue message after the commit, the consumer's POSTs signed
 * as Standard Webhooks, its retries with growing delays and the dead letter after a day, and the
 * every-minute sweep that re-queues what a lost message would have lost.
 */
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { eventsConfig } from '../../src/events/config'
import { GIVE_UP_MS, RETRY_AFTER_MIN, RETRY_DELAYS } from '../../src/events/queue'
import worker from '../../src/index'
import { request, type SignedIn, signIn } from '../helpers'

afterEach(() => vi.restoreAllMocks())

const SECRET = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`
const HOOK = 'https://hooks.example.com/tasks'

/** A queue that records what the worker sends it, or fails every send. */
function fakeQueue({ fail = false } = {}) {
  const sent: unknown[] = []
  const queue = {
    async send(body: unknown) {
      if (fail) throw new Error('queue unavailable')
      sent.push(body)
    },
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      if (fail) throw new Error('queue unavailable')
      for (const message of messages) sent.push(message.body)
    },
  }
  return { sent, queue: queue as unknown as Queue }
}

/** The bindings of a deployment with the webhook on; one object per test, as one isolate has one env. */
const hooked = (overrides: Partial<Env> = {}) =>
  ({ ...env, WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, ...overrides }) as Env

/** What the endpoint received: each request, as the stub saw it. */
interface Received {
  url: string
  id: string
  headers: Record<string, string>
  body: string
}

/** An endpoint's answer: a status, or a status with a Retry-After. */
type Answer = number | { status: number; retryAfter: string }

/** Stubs the endpoint: answers each POST with the next of `answers` (the last one repeats). */
function endpoint(...answers: Answer[]) {
  const received: Received[] = []
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init)
    const body = await req.text()
    const headers = Object.fromEntries(req.headers)
    received.push({ url: req.url, id: headers['webhook-id']!, headers, body })
    const answer = answers[Math.min(received.length - 1, answers.length - 1)]!
    const { status, retryAfter } = typeof answer === 'number' ? { status: answer, retryAfter: undefined } : answer
    return new Response(status >= 300 && status < 400 ? null : 'ok', {
      status,
      headers: {
        ...(status >= 300 && status < 400 && { Location: 'https://elsewhere.example.com/' }),
        ...(retryAfter !== undefined && { 'Retry-After': retryAfter }),
      },
    })
  })
  return received
}

/**
 * One consumer run over messages naming `userIds`: the queue's verdict on each, and the delay of
 * each retry (which getQueueResult does not report).
 */
async function consume(bindings: Env, ...userIds: string[]) {
  const batch = createMessageBatch(
    'task-events',
    userIds.map((userId, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body: { userId } })),
  )
  const retries = batch.messages.map((message) => vi.spyOn(message, 'retry'))
  const retryAll = vi.spyOn(batch, 'retryAll')
  const ctx = createExecutionContext()
  await worker.queue(batch, bindings)
  const result = await getQueueResult(batch, ctx)
  const delays = retries.flatMap((spy) => spy.mock.calls.map(([options]) => options?.delaySeconds))
  return { ...result, delays, retryAllDelay: retryAll.mock.calls[0]?.[0]?.delaySeconds }
}

/** The delivery state of the user's events, oldest first. */
async function states(userId: string) {
  const { results } = await env.DB.prepare(
    'SELECT seq, delivery, attempts, next_attempt_at, delivered_at, created_at FROM task_events WHERE user_id = ?1 ORDER BY seq',
  )
    .bind(userId)
    .all<{
      seq: number
      delivery: string | null
      attempts: number
      next_attempt_at: string | null
      delivered_at: string | null
      created_at: string
    }>()
  return results
}

/** Makes the user's pending events due now, as if their delay had passed. */
const makeDue = (userId: string) =>
  env.DB.prepare(
    "UPDATE task_events SET next_attempt_at = '2000-01-01T00:00:00.000Z' WHERE user_id = ?1 AND delivery = 'pending'",
  )
    .bind(userId)
    .run()

async function createVia(user: SignedIn, bindings: Partial<Env>, title = 'hooked') {
  const res = await request('/tasks', { method: 'POST', token: user.token, body: { title }, env: bindings })
  expect(res.status).toBe(201)
  return res
}

describe('queueing after the commit', () => {
  it('queues a message naming the user after each change, and marks its event pending', async () => {
    const user = await signIn()
    const { sent, queue } = fakeQueue()
    const bindings = { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: queue }
    await createVia(user, bindings)
    expect(sent).toEqual([{ userId: user.id }])
    expect(await states(user.id)).toMatchObject([{ delivery: 'pending', attempts: 0 }])
  })

  it('queues nothing, and marks nothing pending, without WEBHOOK_URL; the log is kept all the same', async () => {
    const user = await signIn()
    const { sent, queue } = fakeQueue()
    await createVia(user, { EVENTS_QUEUE: queue })
    expect(sent).toEqual([])
    expect(await states(user.id)).toMatchObject([{ delivery: null, next_attempt_at: null }])
  })

  it('queues nothing for a refused write or a replay', async () => {
    const user = await signIn()
    const { sent, queue } = fakeQueue()
    const bindings = { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: queue }
    const key = { 'Idempotency-Key': crypto.randomUUID() }
    const post = () =>
      request('/tasks', { method: 'POST', token: user.token, body: { title: 'k' }, headers: key, env: bindings })
    expect((await post()).status).toBe(201)
    expect((await post()).headers.get('Idempotent-Replayed')).toBe('true')
    const missing = await request(`/tasks/${crypto.randomUUID()}`, {
      method: 'DELETE',
      token: user.token,
      env: bindings,
    })
    expect(missing.status).toBe(404)
    expect(sent).toHaveLength(1)
  })

  it('answers the write even when the queue refuses the message', async () => {
    const user = await signIn()
    const { queue } = fakeQueue({ fail: true })
    await createVia(user, { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: queue })
    expect(await states(user.id)).toMatchObject([{ delivery: 'pending' }])
  })
})

describe('the consumer', () => {
  it('POSTs each event once, signed as Standard Webhooks, and marks it delivered', async () => {
    const user = await signIn()
    const { queue } = fakeQueue()
    await createVia(user, { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: queue })
    const [event] = (await (await user.request('/tasks/events')).json<{ items: { id: string; seq: number }[] }>()).items
    const received = endpoint(200)
    const result = await consume(hooked(), user.id)
    expect(result.explicitAcks).toEqual(['m0'])
    expect(result.retryMessages).toEqual([])
    expect(received).toHaveLength(1)
    const [delivery] = received
    expect(delivery!.url).toBe(HOOK)
    expect(delivery!.headers['content-type']).toBe('application/json')
    expect(delivery!.id).toBe(event!.id)
    // The reference implementation accepts it: id, timestamp and signature.
    const verified = new Webhook(SECRET).verify(delivery!.body, delivery!.headers)
    expect(verified).toMatchObject({
      type: 'task.created',
      timestamp: expect.any(String),
      data: {
        event_type: 'created',
        task_number: 1,
        user_id: user.id,
        task_data: { id: 1, title: 'hooked', completed: false, user_id: user.id },
      },
    })
    // A signature made with another secret is refused by it.
    const other = `whsec_${btoa('x'.repeat(32))}`
    expect(() => new Webhook(other).verify(delivery!.body, delivery!.headers)).toThrow()
    expect(await states(user.id)).toMatchObject([{ delivery: 'delivered', attempts: 1, next_attempt_at: null }])
    // A duplicate message sends nothing again.
    await consume(hooked(), user.id)
    expect(received).toHaveLength(1)
  })

  it('sends each user’s events in sequence order, and one run per user for duplicate messages', async () => {
    const [user, other] = [await signIn(), await signIn()]
    const { queue } = fakeQueue()
    const bindings = { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: queue }
    for (const title of ['one', 'two', 'three']) await createVia(user, bindings, title)
    await createVia(other, bindings, 'theirs')
    const received = endpoint(200)
    const result = await consume(hooked(), user.id, other.id, user.id)
    expect(result.explicitAcks.sort()).toEqual(['m0', 'm1', 'm2'])
    const titles = received.map((r) => JSON.parse(r.body).data.task_data.title)
    expect(titles.filter((t) => t !== 'theirs')).toEqual(['one', 'two', 'three'])
    expect(titles).toHaveLength(4)
  })

  it('retries a failed event with the same webhook-id after growing delays, the first within a minute', async () => {
    const user = await signIn()
    const { queue } = fakeQueue()
    await createVia(user, { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: queue })
    const received = endpoint(500, 503, 302, 200)
    const delays: (number | undefined)[] = []
    for (let run = 0; run < 3; run++) {
      const before = Date.now()
      const result = await consume(hooked(), user.id)
      expect(result.explicitAcks).toEqual([])
      delays.push(...result.delays)
      const [state] = await states(user.id)
      expect(state).toMatchObject({ delivery: 'pending', attempts: run + 1 })
      // The event is not due again before its delay: a message arriving early sends nothing.
      expect(Date.parse(state!.next_attempt_at!) - before).toBeGreaterThanOrEqual(RETRY_DELAYS[run]! * 1000)
      await consume(hooked(), user.id)
      expect(received).toHaveLength(run + 1)
      await makeDue(user.id)
    }
    expect(delays).toEqual([RETRY_DELAYS[0], RETRY_DELAYS[1], RETRY_DELAYS[2]])
    expect(delays[0]).toBeLessThanOrEqual(60)
    const result = await consume(hooked(), user.id)
    expect(result.explicitAcks).toEqual(['m0'])
    expect(new Set(received.map((r) => r.id)).size).toBe(1)
    // A redirect was not followed: one request per attempt, all to WEBHOOK_URL.
    expect(received.map((r) => r.url)).toEqual([HOOK, HOOK, HOOK, HOOK])
    expect(await states(user.id)).toMatchObject([{ delivery: 'delivered', attempts: 4 }])
  })

  it('comes back when a refusing endpoint says (Retry-After), within 5 s and 12 h; an unreadable one keeps the schedule', async () => {
    const user = await signIn()
    const { queue } = fakeQueue()
    await createVia(user, { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: queue })
    const inSeconds = (s: number) => new Date(Math.floor(Date.now() / 1000) * 1000 + s * 1000).toUTCString()
    const cases: { answer: Answer; delay: number | [number, number] }[] = [
      { answer: { status: 503, retryAfter: '120' }, delay: 120 },
      { answer: { status: 429, retryAfter: inSeconds(90) }, delay: [89, 90] },
      { answer: { status: 500, retryAfter: '0' }, delay: RETRY_AFTER_MIN },
      { answer: { status: 503, retryAfter: inSeconds(-600) }, delay: RETRY_AFTER_MIN },
      { answer: { status: 503, retryAfter: '99999999999999999999' }, delay: 43_200 },
      // Not delay-seconds nor an HTTP-date: the schedule's delay for the attempt.
      { answer: { status: 503, retryAfter: 'soon' }, delay: RETRY_DELAYS[5] },
      { answer: { status: 503, retryAfter: '1.5' }, delay: RETRY_DELAYS[6] },
      { answer: { status: 503, retryAfter: '-5' }, delay: RETRY_DELAYS[7] },
    ]
    for (const [i, { answer, delay }] of cases.entries()) {
      endpoint(answer)
      const before = Date.now()
      const { delays } = await consume(hooked(), user.id)
      const [low, high] = typeof delay === 'number' ? [delay, delay] : delay
      expect(delays, JSON.stringify(answer)).toHaveLength(1)
      expect(delays[0], JSON.stringify(answer)).toBeGreaterThanOrEqual(low)
      expect(delays[0], JSON.stringify(answer)).toBeLessThanOrEqual(high)
      // The event itself is due then too: a message arriving sooner sends nothing.
      const [state] = await states(user.id)
      expect(state).toMatchObject({ delivery: 'pending', attempts: i + 1 })
      expect(Date.parse(state!.next_attempt_at!) - before).toBeGreaterThanOrEqual(low * 1000)
      await makeDue(user.id)
    }
    // The retry that is taken is the same event.
    const received = endpoint({ status: 200, retryAfter: '3600' })
    expect((await consume(hooked(), user.id)).explicitAcks).toEqual(['m0'])
    expect(received).toHaveLength(1)
    expect(await states(user.id)).toMatchObject([{ delivery: 'delivered', attempts: cases.length + 1 }])
  })

  it('keeps retrying for a day, then dead-letters the event, logs it, and goes on with the next', async () => {
    const user = await signIn()
    const { queue } = fakeQueue()
    const bindings = { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: queue }
    await createVia(user, bindings, 'doomed')
    await createVia(user, bindings, 'fine')
    const [first] = await states(user.id)
    // Just under a day old: still retried.
    const young = new Date(Date.now() - GIVE_UP_MS + 60_000).toISOString()
    await env.DB.prepare('UPDATE task_events SET created_at = ?2 WHERE user_id = ?1 AND seq = ?3')
      .bind(user.id, young, first!.seq)
      .run()
    const received = endpoint(500)
    const errors = vi.spyOn(console, 'error')
    const retried = await consume(hooked(), user.id)
    expect(retried.retryMessages).toHaveLength(1)
    expect(received).toHaveLength(1)
    // A day old at the next failure: given up.
    const old = new Date(Date.now() - GIVE_UP_MS - 1000).toISOString()
    await env.DB.prepare('UPDATE task_events SET created_at = ?2 WHERE user_id = ?1 AND seq = ?3')
      .bind(user.id, old, first!.seq)
      .run()
    await makeDue(user.id)
    const ok = endpoint(500, 200)
    const result = await consume(hooked(), user.id)
    expect(result.explicitAcks).toEqual(['m0'])
    expect(ok.map((r) => JSON.parse(r.body).data.task_data.title)).toEqual(['doomed', 'fine'])
    expect(await states(user.id)).toMatchObject([
      { delivery: 'dead', attempts: 2, next_attempt_at: null },
      { delivery: 'delivered' },
    ])
    const logged = errors.mock.calls.map(([line]) => JSON.parse(String(line)))
    expect(logged).toContainEqual(expect.objectContaining({ message: 'webhook event dead-lettered', attempts: 2 }))
  })

  it('sends nothing and acks when WEBHOOK_URL is unset; retries later, sending nothing, when it is misconfigured', async () => {
    const user = await signIn()
    const { queue } = fakeQueue()
    await createVia(user, { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: queue })
    const received = endpoint(200)
    expect((await consume({ ...env } as Env, user.id)).ackAll).toBe(true)
    for (const wrong of [
      { WEBHOOK_URL: 'http://hooks.example.com/tasks' },
      { WEBHOOK_URL: 'ftp://hooks.example.com/' },
      { WEBHOOK_URL: 'https://user:pass@hooks.example.com/' },
      { WEBHOOK_SECRET: '' },
      { WEBHOOK_SECRET: 'not-a-secret' },
      { WEBHOOK_SECRET: `whsec_${btoa('short')}` },
    ]) {
      const bindings = hooked(wrong)
      expect(eventsConfig(bindings).webhook, JSON.stringify(wrong)).toHaveProperty('error')
      const result = await consume(bindings, user.id)
      expect(result.retryBatch).toMatchObject({ retry: true })
      expect(result.retryAllDelay).toBeGreaterThanOrEqual(60)
    }
    expect(received).toEqual([])
    expect(await states(user.id)).toMatchObject([{ delivery: 'pending', attempts: 0 }])
    // http:// only on this machine.
    for (const local of ['http://localhost:9999/hook', 'http://127.0.0.1:9999/hook', 'http://[::1]:9999/hook']) {
      expect(eventsConfig(hooked({ WEBHOOK_URL: local })).webhook).toHaveProperty('url')
    }
  })
})

describe('the every-minute sweep', () => {
  const EVERY_MINUTE = '* * * * *'
  const sweep = async (bindings: Env, time: number) => {
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: EVERY_MINUTE, scheduledTime: time }), bindings, ctx)
    await waitOnExecutionContext(ctx)
  }

  it('re-queues an event whose message was lost, once it is a minute overdue; the consumer then delivers it', async () => {
    const user = await signIn()
    await createVia(user, { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: fakeQueue({ fail: true }).queue })
    const { sent, queue } = fakeQueue()
    const bindings = hooked({ EVENTS_QUEUE: queue })
    // Within the minute: the message may still come. (Other tests' users may be swept too.)
    const mine = () => sent.filter((body) => (body as { userId: string }).userId === user.id)
    await sweep(bindings, Date.now() + 30_000)
    expect(mine()).toEqual([])
    await sweep(bindings, Date.now() + 61_000)
    expect(mine()).toEqual([{ userId: user.id }])
    const received = endpoint(200)
    await consume(bindings, user.id)
    expect(received).toHaveLength(1)
    expect(await states(user.id)).toMatchObject([{ delivery: 'delivered' }])
    // Delivered: nothing to sweep any more.
    await sweep(bindings, Date.now() + 10 * 60_000)
    expect(mine()).toHaveLength(1)
  })

  it('delivers, with its one webhook-id, an event whose endpoint was down for two minutes and whose retry was lost', async () => {
    const user = await signIn()
    const { queue } = fakeQueue()
    const bindings = hooked({ EVENTS_QUEUE: queue })
    await createVia(user, { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: queue })
    const received = endpoint(503, 503, 200)
    const start = Date.now()
    await consume(bindings, user.id)
    // Its retry message is lost; the sweep finds it a minute after it was due, twice.
    for (const minutes of [2, 4]) {
      const [state] = await states(user.id)
      if (state!.delivery === 'delivered') break
      await sweep(bindings, Date.parse(state!.next_attempt_at!) + 61_000)
      await makeDue(user.id)
      await consume(bindings, user.id)
      expect(Date.now() - start).toBeLessThan(minutes * 60_000)
    }
    expect(received).toHaveLength(3)
    expect(new Set(received.map((r) => r.id)).size).toBe(1)
    expect(await states(user.id)).toMatchObject([{ delivery: 'delivered', attempts: 3 }])
  })

  it('does nothing without WEBHOOK_URL', async () => {
    const user = await signIn()
    await createVia(user, { WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, EVENTS_QUEUE: fakeQueue({ fail: true }).queue })
    const { sent, queue } = fakeQueue()
    await sweep({ ...env, EVENTS_QUEUE: queue } as Env, Date.now() + 10 * 60_000)
    expect(sent).toEqual([])
  })
})
