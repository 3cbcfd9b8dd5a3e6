/**
 * The reminder job's SQL (src/reminders/job.ts). Finding whose reminders are due spans all users,
 * as the other Cron Trigger jobs do: it reads no content, only which reminders are due. Everything
 * that reads or changes a user's reminders, tasks or subscriptions is scoped by that user as ?1.
 */
import { d1 } from '../db'
import { keepWithinBound, LAST_NUMBER } from '../notifications/repo'
import type { Subscription } from '../push/send'

// No client waits on the job: give it longer than a request's round trip gets.
const JOB_TIMEOUT_MS = 30_000

export interface Claim {
  taskId: string
  userId: string
}

export interface Retry extends Claim {
  subscriptionId: string
  firstTriedAt: string
}

/**
 * Takes the retries due (a push service asked for one) that are younger than `cutoff`, oldest first,
 * at most `limit`, and drops the older ones: one transaction, and a retry taken is a retry deleted, so
 * two overlapping runs never take the same one.
 */
export async function claimRetries(db: D1Database, cutoff: string, limit: number): Promise<Retry[]> {
  const [, claimed] = await d1(
    () =>
      db.batch([
        db.prepare('DELETE FROM push_retries WHERE first_tried_at <= ?1').bind(cutoff),
        db
          .prepare(
            `DELETE FROM push_retries WHERE (task_id, subscription_id) IN
               (SELECT task_id, subscription_id FROM push_retries ORDER BY first_tried_at LIMIT ?1)
             RETURNING task_id, subscription_id, user_id, first_tried_at`,
          )
          .bind(limit),
      ]),
    JOB_TIMEOUT_MS,
  )
  return (
    claimed!.results as { task_id: string; subscription_id: string; user_id: string; first_tried_at: string }[]
  ).map((row) => ({
    taskId: row.task_id,
    subscriptionId: row.subscription_id,
    userId: row.user_id,
    firstTriedAt: row.first_tried_at,
  }))
}

/** A user with reminders due, as the run sees them: in the order it serves users. */
export interface DueUser {
  userId: string
  /** Reminders due, counted up to the most one run takes of a user. */
  due: number
  subscriptions: number
}

/** The window a run looks at: reminders due by `now` and not older than `since`. */
export interface Window {
  now: string
  since: string
}

// `remind_at` to the minute: the walk's first key (migrations/0012_notifications.sql).
const MINUTE = 'substr(remind_at, 1, 16)'

/**
 * The users with unsent reminders due in the window, by the minute of their oldest one, at most
 * `users` of them. Found by a walk over the (minute, user) pairs of task_reminders_due_by_minute,
 * one index seek a step and at most `steps` steps, so a user with thousands of reminders due costs
 * one step per minute of the window, not one per reminder; then each user's reminders due (at most
 * `perUser`, counted on task_reminders_due_by_user) and subscriptions. It reads no content.
 */
export async function dueUsers(
  db: D1Database,
  { now, since }: Window,
  { steps, users, perUser }: { steps: number; users: number; perUser: number },
): Promise<DueUser[]> {
  const { results } = await d1(
    () =>
      db
        .prepare(
          `WITH RECURSIVE walk(k, step) AS (
             SELECT (SELECT ${MINUTE} || user_id FROM task_reminders
                     WHERE sent_at IS NULL AND ${MINUTE} >= ?1 AND ${MINUTE} <= ?2
                     ORDER BY ${MINUTE}, user_id LIMIT 1), 1
             UNION ALL
             -- The next user due in the same minute, else the first user of the next minute.
             SELECT coalesce(
                      (SELECT ${MINUTE} || user_id FROM task_reminders
                       WHERE sent_at IS NULL AND ${MINUTE} = substr(walk.k, 1, 16) AND user_id > substr(walk.k, 17)
                       ORDER BY user_id LIMIT 1),
                      (SELECT ${MINUTE} || user_id FROM task_reminders
                       WHERE sent_at IS NULL AND ${MINUTE} > substr(walk.k, 1, 16) AND ${MINUTE} <= ?2
                       ORDER BY ${MINUTE}, user_id LIMIT 1)),
                    step + 1
             FROM walk WHERE walk.k IS NOT NULL AND walk.step < ?3)
           SELECT w.user_id,
                  (SELECT count(*) FROM (SELECT 1 FROM task_reminders AS r
                                         WHERE r.user_id = w.user_id AND r.sent_at IS NULL
                                           AND r.remind_at > ?5 AND r.remind_at <= ?4 LIMIT ?6)) AS due,
                  (SELECT count(*) FROM push_subscriptions AS s WHERE s.user_id = w.user_id) AS subscriptions
           FROM (SELECT substr(k, 17) AS user_id, min(step) AS first FROM walk WHERE k IS NOT NULL
                 GROUP BY substr(k, 17) ORDER BY first LIMIT ?7) AS w
           ORDER BY w.first`,
        )
        .bind(since.slice(0, 16), now.slice(0, 16), steps, now, since, perUser, users)
        .all<{ user_id: string; due: number; subscriptions: number }>(),
    JOB_TIMEOUT_MS,
  )
  return results
    .filter((row) => row.due > 0)
    .map((row) => ({ userId: row.user_id, due: row.due, subscriptions: row.subscriptions }))
}

// A user's share: the `?4` oldest of their unsent reminders due in the window (?3, ?2]. Read twice in
// the claim's batch, by statements that change nothing it reads in between: the same rows both times.
const SHARE = `SELECT task_id, remind_at FROM task_reminders
               WHERE user_id = ?1 AND sent_at IS NULL AND remind_at > ?3 AND remind_at <= ?2
               ORDER BY remind_at, task_id LIMIT ?4`

/**
 * Claims each user's share, in one transaction: records a notification in the user's inbox for each
 * reminder of an open task (numbered after the user's last, kept within `maxNotifications`), then
 * marks the share sent. Of two overlapping runs, each reminder goes to exactly one, so it is
 * recorded once; a reminder taken is never taken again until its time changes. One whose task is
 * completed is dropped: recorded nowhere, sent to no one. Returns the claims to push.
 */
export async function claimReminders(
  db: D1Database,
  shares: Map<string, number>,
  { now, since }: Window,
  maxNotifications: number,
): Promise<Claim[]> {
  const users = [...shares].filter(([, count]) => count > 0)
  const perUser = (userId: string, count: number) => [
    db
      .prepare(
        `INSERT INTO notifications (user_id, number, type, task_id, task_number, title, message, is_read, sent_at)
         SELECT ?1, ${LAST_NUMBER} + row_number() OVER (ORDER BY r.remind_at, r.task_id),
                'reminder', t.id, t.number, t.title, t.description, 0, ?2
         -- CROSS JOIN keeps the order: the share from its index, then each task by its key.
         FROM (${SHARE}) AS r CROSS JOIN tasks AS t ON t.id = r.task_id
         WHERE t.user_id = ?1 AND t.completed = 0
         RETURNING task_id`,
      )
      .bind(userId, now, since, count),
    ...keepWithinBound(db, userId, maxNotifications),
    db
      .prepare(
        `UPDATE task_reminders SET sent_at = ?2 WHERE user_id = ?1 AND task_id IN (SELECT task_id FROM (${SHARE}))`,
      )
      .bind(userId, now, since, count),
  ]
  const statements = users.flatMap(([userId, count]) => perUser(userId, count))
  if (statements.length === 0) return []
  const results = await d1(() => db.batch(statements), JOB_TIMEOUT_MS)
  const each = statements.length / users.length
  return users.flatMap(([userId], i) =>
    (results[i * each]!.results as { task_id: string }[]).map((row) => ({ taskId: row.task_id, userId })),
  )
}

export interface ReminderTask {
  id: string
  title: string
  dueAt: string | null
  remindAt: string | null
  completed: boolean
}

export interface UserDeliveries {
  tasks: ReminderTask[]
  subscriptions: (Subscription & { id: string })[]
}

/** Each user's claimed tasks and subscriptions, in one batch of statements scoped by user. */
export async function readDeliveries(
  db: D1Database,
  taskIds: Map<string, string[]>,
): Promise<Map<string, UserDeliveries>> {
  const users = [...taskIds.keys()]
  if (users.length === 0) return new Map()
  const results = await d1(
    () =>
      db.batch(
        users.flatMap((userId) => [
          db
            .prepare(
              // CROSS JOIN keeps the order: a primary-key lookup per claimed task, not a scan of the user's tasks.
              `SELECT t.id, t.title, t.due_at, t.remind_at, t.completed FROM json_each(?2) AS claimed
               CROSS JOIN tasks AS t ON t.id = claimed.value
               WHERE t.user_id = ?1`,
            )
            .bind(userId, JSON.stringify(taskIds.get(userId))),
          db.prepare('SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = ?1').bind(userId),
        ]),
      ),
    JOB_TIMEOUT_MS,
  )
  return new Map(
    users.map((userId, i) => {
      const tasks = results[2 * i]!.results as {
        id: string
        title: string
        due_at: string | null
        remind_at: string | null
        completed: 0 | 1
      }[]
      const subscriptions = results[2 * i + 1]!.results as {
        id: string
        endpoint: string
        p256dh: string
        auth: string
      }[]
      return [
        userId,
        {
          tasks: tasks.map((t) => ({
            id: t.id,
            title: t.title,
            dueAt: t.due_at,
            remindAt: t.remind_at,
            completed: t.completed === 1,
          })),
          subscriptions: subscriptions.map((s) => ({
            id: s.id,
            endpoint: s.endpoint,
            keys: { p256dh: s.p256dh, auth: s.auth },
          })),
        },
      ]
    }),
  )
}

/** What the push services answered: subscriptions to drop (404, 410) and messages to try again. */
export async function recordOutcomes(
  db: D1Database,
  gone: { userId: string; subscriptionId: string }[],
  retries: Retry[],
) {
  const statements = [
    ...gone.map(({ userId, subscriptionId }) =>
      db.prepare('DELETE FROM push_subscriptions WHERE user_id = ?1 AND id = ?2').bind(userId, subscriptionId),
    ),
    ...retries.map((retry) =>
      db
        .prepare(
          `INSERT INTO push_retries (user_id, task_id, subscription_id, first_tried_at) VALUES (?1, ?2, ?3, ?4)
           ON CONFLICT DO NOTHING`,
        )
        .bind(retry.userId, retry.taskId, retry.subscriptionId, retry.firstTriedAt),
    ),
  ]
  if (statements.length > 0) await d1(() => db.batch(statements), JOB_TIMEOUT_MS)
}
