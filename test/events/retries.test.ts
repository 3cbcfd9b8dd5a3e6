/**
 * Webhook retries (docs/events.md): growing delays with the same webhook-id, an endpoint's own
 * Retry-After within its bounds, the dead letter after a day, and the every-minute sweep that
 * re-queues what a lost message would have lost.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { GIVE_UP_MS, RETRY_AFTER_MIN, RETRY_DELAYS } from '../../src/events/queue'
import worker from '../../src/index'
import { signIn } from '../helpers'
import { type Answer, consume, createVia, endpoint, fakeQueue, HOOK, hooked, makeDue, SECRET, states } from './endpoint'

afterEach(() => vi.restoreAllMocks())

describe('retries', () => {
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
