/**
 * Webhook delivery through the EVENTS_QUEUE Cloudflare Queue (wrangler.toml), produced and consumed
 * by this worker. A message names only a user ("has events to deliver"); the events and their state
 * are in D1 (task_events), so a duplicate message costs a read, never a second delivery of a
 * delivered event. Three ways in:
 * - the task service queues a message once a change has committed (enqueueEvents);
 * - the consumer (deliverBatch) POSTs each due event of the message's user in sequence order: a
 *   2xx marks it delivered; anything else schedules its retry with a growing delay, or when the
 *   endpoint's Retry-After says, and retries the message with that delay; an event still failing a
 *   day after it was made is dead-lettered;
 * - the every-minute sweep (sweepUndelivered) queues a message for every user with an event a
 *   minute past its due time, whose message was lost: a lost send never loses an event.
 */
import { userPseudonym } from '../hash'
import { retryAfterSeconds } from '../retry-after'
import { eventsConfig, type Webhook } from './config'
import { type Attempt, overdueUsers, pendingEvents, recordAttempts } from './repo'
import { send } from './webhook'

export interface EventsMessage {
  userId: string
}

/** Seconds before each retry of a failed event: the first within a minute, then longer and longer. */
export const RETRY_DELAYS = [30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200] as const
/**
 * Bounds on an endpoint's own Retry-After, honoured in place of the schedule's delay: not sooner
 * than this (an endpoint that always says 0 would be sent to in a loop), not later than the longest
 * delay (also the longest a Queues message can be delayed).
 */
export const RETRY_AFTER_MIN = 5
const RETRY_AFTER_BOUNDS = { min: RETRY_AFTER_MIN, max: Math.max(...RETRY_DELAYS) }
/** An event still failing this long after it was made is given up (state `dead`) and logged. */
export const GIVE_UP_MS = 24 * 60 * 60 * 1000
/** How late an event's attempt may be before the sweep queues it again. */
export const SWEEP_AFTER_MS = 60 * 1000

/** Events one message delivers at most; past that it queues another message for the rest. */
const EVENTS_PER_RUN = 25
/** Users the sweep queues at most per run (sendBatch takes 100 messages at a time). */
const SWEEP_USERS = 100
/** How long a message waits when the webhook is misconfigured: it may be fixed meanwhile. */
const MISCONFIGURED_DELAY = 300

const log = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}) =>
  console[level](JSON.stringify({ level, message, ...fields }))

/** Queues the user's new events for delivery. Never rejects: the sweep sends whatever this loses. */
export async function enqueueEvents(env: Env, userId: string): Promise<void> {
  try {
    await env.EVENTS_QUEUE.send({ userId } satisfies EventsMessage)
  } catch (error) {
    log('warn', 'event not queued; the sweep will', { user: await userPseudonym(userId), error: String(error) })
  }
}

const isMessage = (body: unknown): body is EventsMessage =>
  typeof body === 'object' && body !== null && typeof (body as EventsMessage).userId === 'string'

/** The queue consumer: delivers the due events of each user named in the batch. */
export async function deliverBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const { webhook } = eventsConfig(env)
  // Unset since the events were queued: nothing is sent, and they stay pending until it is set again.
  if (webhook === 'off') return batch.ackAll()
  if ('error' in webhook) return batch.retryAll({ delaySeconds: MISCONFIGURED_DELAY })
  const byUser = new Map<string, Message<unknown>[]>()
  for (const message of batch.messages) {
    if (!isMessage(message.body)) {
      log('error', 'malformed events message dropped', { id: message.id })
      message.ack()
      continue
    }
    byUser.set(message.body.userId, [...(byUser.get(message.body.userId) ?? []), message])
  }
  for (const [userId, messages] of byUser) {
    let retryIn: number | undefined
    try {
      retryIn = await deliverUser(env, webhook, userId)
    } catch (error) {
      // D1 failed: the message comes back, or the sweep queues another one.
      log('error', 'event delivery failed', { user: await userPseudonym(userId), error: String(error) })
      retryIn = RETRY_DELAYS[0]
    }
    // One message carries the user's retry; the others were duplicates.
    const [first, ...rest] = messages
    if (retryIn === undefined) first!.ack()
    else first!.retry({ delaySeconds: retryIn })
    for (const message of rest) message.ack()
  }
}

/**
 * POSTs the user's due events in sequence order and records what came of each. Returns in how many
 * seconds the message should come back (a failed event's retry), or undefined when nothing is left.
 * After a failure the user's later events wait for the next run, so that the endpoint, which just
 * failed, is not sent more at once.
 */
async function deliverUser(env: Env, webhook: Webhook, userId: string): Promise<number | undefined> {
  const events = await pendingEvents(env.DB, userId, new Date().toISOString(), EVENTS_PER_RUN)
  const attempts: Attempt[] = []
  let retryIn: number | undefined
  for (const event of events) {
    const sent = await send(webhook, event)
    const now = Date.now()
    if (sent.delivered) {
      attempts.push({ seq: event.seq, outcome: 'delivered', at: new Date(now).toISOString() })
      continue
    }
    if (now - Date.parse(event.created_at) >= GIVE_UP_MS) {
      attempts.push({ seq: event.seq, outcome: 'dead' })
      log('error', 'webhook event dead-lettered', {
        eventId: event.id,
        type: event.type,
        attempts: event.attempts + 1,
        user: await userPseudonym(userId),
      })
      continue
    }
    retryIn =
      retryAfterSeconds(sent.retryAfter, RETRY_AFTER_BOUNDS) ??
      RETRY_DELAYS[Math.min(event.attempts, RETRY_DELAYS.length - 1)]!
    attempts.push({ seq: event.seq, outcome: 'retry', at: new Date(now + retryIn * 1000).toISOString() })
    break
  }
  await recordAttempts(env.DB, userId, attempts)
  // A full run may have left more: they go in a message of their own.
  if (retryIn === undefined && events.length === EVENTS_PER_RUN) await enqueueEvents(env, userId)
  return retryIn
}

/**
 * The every-minute sweep: queues a message for each user with an event pending a minute past its
 * due time at `time` (the scheduled run's time). Returns how many users it queued.
 */
export async function sweepUndelivered(env: Env, time: number): Promise<number> {
  if (eventsConfig(env).webhook === 'off') return 0
  const users = await overdueUsers(env.DB, new Date(time - SWEEP_AFTER_MS).toISOString(), SWEEP_USERS)
  if (users.length > 0) {
    await env.EVENTS_QUEUE.sendBatch(users.map((userId) => ({ body: { userId } satisfies EventsMessage })))
  }
  return users.length
}
