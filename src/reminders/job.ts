/**
 * The every-minute Cron Trigger job: sends each due reminder, by Web Push, to every subscription of
 * its task's owner. A run is bounded by PUSHES_PER_RUN and shared fairly between users (share.ts):
 * users by their oldest due reminder, one reminder each per round, so an account with thousands due
 * delays only itself. The rest wait for the next run. Retries (429, 5xx) come first, within half the
 * budget, and are given up an hour after the first attempt.
 */
import type { VapidKeys } from '@block65/webcrypto-web-push'
import { pushConfig } from '../config'
import { poke } from '../live/poke'
import { MAX_NOTIFICATIONS_PER_USER } from '../notifications/model'
import { isAllowedEndpoint } from '../push/endpoint'
import { type Outcome, sendPush } from '../push/send'
import {
  type Claim,
  claimReminders,
  claimRetries,
  dueUsers,
  type ReminderTask,
  type Retry,
  readDeliveries,
  recordOutcomes,
} from './repo'
import { shareRun } from './share'

/**
 * Push messages per run. A Worker on the Free plan may make 50 subrequests per invocation (Paid:
 * far more); this leaves room for the run's D1 round trips under that, so no plan cuts a run short.
 */
export const PUSHES_PER_RUN = 40
/** How long a reminder, or a push service's "try again", stays worth sending. */
export const RETRY_WINDOW_MS = 60 * 60 * 1000
/** Seconds a push service may hold a reminder for a device that is offline (RFC 8030 5.2). */
export const REMINDER_TTL_SECONDS = 60 * 60
/** Push messages a run spends on retries, at most: the rest is for reminders due, whatever fails. */
export const RETRIES_PER_RUN = PUSHES_PER_RUN / 2
/** Reminders a run takes of one user, at most. */
export const REMINDERS_PER_USER = 50
/** Users a run serves, at most; the others, whose oldest due reminder is newer, wait for the next run. */
export const USERS_PER_RUN = 50
// Workers allow six connections open at once per invocation.
const CONCURRENCY = 6
// Reminders a run takes, at most: users without subscriptions take none of the push budget.
const CLAIMS_PER_RUN = 500
// Steps of the walk that finds the users due: one per user per minute due (src/reminders/repo.ts).
const WALK_STEPS = 500

export interface ReminderEnv {
  DB: D1Database
  /** The users' Durable Objects: a new notification pokes its user's live sockets (src/live/). */
  USER?: Env['USER'] | undefined
  VAPID_PRIVATE_KEY?: string | undefined
  VAPID_SUBJECT?: string | undefined
  PUSH_SERVICE_HOSTS?: string | undefined
}

/** The push message: what a service worker needs to show the reminder. */
export interface ReminderPayload {
  taskId: string
  title: string
  dueAt: string | null
  remindAt: string | null
}

interface Delivery {
  claim: Claim
  subscriptionId: string
  firstTriedAt: string
  send: () => Promise<{ outcome: Outcome; status: number }>
}

/**
 * Takes the reminders due at `now`: records each in its owner's notification inbox and, when push is
 * configured, sends it to their subscriptions. Returns how many messages push services accepted.
 */
export async function sendDueReminders(env: ReminderEnv, now: number): Promise<number> {
  const { setting, hosts } = pushConfig(env)
  // Without push (pushConfig has logged why) reminders still reach the inbox, at no push cost.
  const vapid = 'off' in setting ? undefined : setting.vapid
  const nowIso = new Date(now).toISOString()
  const window = { now: nowIso, since: new Date(now - RETRY_WINDOW_MS).toISOString() }

  const retries = vapid ? await claimRetries(env.DB, window.since, RETRIES_PER_RUN) : []
  const due = await dueUsers(env.DB, window, { steps: WALK_STEPS, users: USERS_PER_RUN, perUser: REMINDERS_PER_USER })
  const shares = shareRun(
    due.map(({ userId, due, subscriptions }) => ({ userId, due, cost: vapid ? subscriptions : 0 })),
    { pushes: PUSHES_PER_RUN - retries.length, reminders: CLAIMS_PER_RUN },
  )
  const claims = await claimReminders(env.DB, shares, window, MAX_NOTIFICATIONS_PER_USER)
  // Each user with a new notification hears of it as of a task change; a poke never fails the job.
  const { USER } = env
  if (USER) await Promise.all([...new Set(claims.map((claim) => claim.userId))].map((id) => poke({ USER }, id)))
  if (!vapid) {
    console.log(JSON.stringify({ level: 'info', message: 'reminders sent', notified: claims.length, sent: 0 }))
    return 0
  }
  return push(env.DB, { vapid, hosts }, retries, claims, nowIso)
}

/** Sends the retries and the claimed reminders, and records what the push services answered. */
async function push(
  db: D1Database,
  { vapid, hosts }: { vapid: VapidKeys; hosts: readonly string[] },
  retries: Retry[],
  claims: Claim[],
  nowIso: string,
): Promise<number> {
  const byUser = new Map<string, string[]>()
  for (const { userId, taskId } of [...retries, ...claims]) byUser.set(userId, [...(byUser.get(userId) ?? []), taskId])
  const users = await readDeliveries(db, byUser)

  const deliveries: Delivery[] = []
  const add = (claim: Claim, onlySubscription: string | undefined, firstTriedAt: string) => {
    const user = users.get(claim.userId)
    const task = user?.tasks.find((t) => t.id === claim.taskId)
    // Completed or deleted since it was claimed: not sent.
    if (!user || !task || task.completed) return
    for (const subscription of user.subscriptions) {
      if (onlySubscription !== undefined && subscription.id !== onlySubscription) continue
      // The allow-list may have shrunk since the browser subscribed.
      if (!isAllowedEndpoint(subscription.endpoint, hosts)) continue
      deliveries.push({
        claim,
        subscriptionId: subscription.id,
        firstTriedAt,
        send: () => sendPush(subscription, payloadOf(task), vapid, { ttl: REMINDER_TTL_SECONDS, urgency: 'high' }),
      })
    }
  }
  for (const retry of retries) add(retry, retry.subscriptionId, retry.firstTriedAt)
  for (const claim of claims) add(claim, undefined, nowIso)

  const outcomes = await inPool(deliveries.slice(0, PUSHES_PER_RUN), CONCURRENCY, (delivery) => delivery.send())
  const gone: { userId: string; subscriptionId: string }[] = []
  // Past the budget (a user subscribed more browsers since the claim counted them): the next run sends these.
  const again: Retry[] = deliveries
    .slice(PUSHES_PER_RUN)
    .map(({ claim, subscriptionId, firstTriedAt }) => ({ ...claim, subscriptionId, firstTriedAt }))
  let sent = 0
  outcomes.forEach(({ outcome, status }, i) => {
    const { claim, subscriptionId, firstTriedAt } = deliveries[i]!
    if (outcome === 'sent') sent++
    else if (outcome === 'gone') gone.push({ userId: claim.userId, subscriptionId })
    else if (outcome === 'retry') again.push({ ...claim, subscriptionId, firstTriedAt })
    else console.warn(JSON.stringify({ level: 'warn', message: 'push refused', status }))
  })
  await recordOutcomes(db, gone, again)
  console.log(
    JSON.stringify({
      level: 'info',
      message: 'reminders sent',
      notified: claims.length,
      sent,
      gone: gone.length,
      retrying: again.length,
    }),
  )
  return sent
}

const payloadOf = (task: ReminderTask): ReminderPayload => ({
  taskId: task.id,
  title: task.title,
  dueAt: task.dueAt,
  remindAt: task.remindAt,
})

/** Runs `work` over `items`, at most `size` at a time; results in the items' order. */
async function inPool<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker))
  return results
}
