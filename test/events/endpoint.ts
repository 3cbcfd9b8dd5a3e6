/**
 * The webhook tests' stand-ins (test/events/delivery.test.ts, retries.test.ts): a queue that records
 * what the worker sends, a scripted endpoint behind a stubbed `fetch`, one consumer run, and the
 * delivery state of a user's events as D1 holds it. A file that stubs `fetch` restores it after each
 * test (`vi.restoreAllMocks()`).
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect, vi } from 'vitest'
import worker from '../../src/index'
import { request, type SignedIn } from '../helpers'

export const SECRET = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`
export const HOOK = 'https://hooks.example.com/tasks'

/** A queue that records what the worker sends it, or fails every send. */
export function fakeQueue({ fail = false } = {}) {
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
export const hooked = (overrides: Partial<Env> = {}) =>
  ({ ...env, WEBHOOK_URL: HOOK, WEBHOOK_SECRET: SECRET, ...overrides }) as Env

/** What the endpoint received: each request, as the stub saw it. */
export interface Received {
  url: string
  id: string
  headers: Record<string, string>
  body: string
}

/** An endpoint's answer: a status, or a status with a Retry-After. */
export type Answer = number | { status: number; retryAfter: string }

/** Stubs the endpoint: answers each POST with the next of `answers` (the last one repeats). */
export function endpoint(...answers: Answer[]) {
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
export async function consume(bindings: Env, ...userIds: string[]) {
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
export async function states(userId: string) {
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
export const makeDue = (userId: string) =>
  env.DB.prepare(
    "UPDATE task_events SET next_attempt_at = '2000-01-01T00:00:00.000Z' WHERE user_id = ?1 AND delivery = 'pending'",
  )
    .bind(userId)
    .run()

export async function createVia(user: SignedIn, bindings: Partial<Env>, title = 'hooked') {
  const res = await request('/tasks', { method: 'POST', token: user.token, body: { title }, env: bindings })
  expect(res.status).toBe(201)
  return res
}
