import { env } from 'cloudflare:workers'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { eventsConfig } from '../../src/events/config'
import { request, signIn } from '../helpers'
import { consume, createVia, endpoint, fakeQueue, HOOK, hooked, SECRET, states } from './endpoint'

afterEach(() => vi.restoreAllMocks())

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
