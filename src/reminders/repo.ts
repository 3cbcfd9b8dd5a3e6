/**
 * The reminder job's SQL (src/reminders/job.ts). Claims span all users, as the other Cron Trigger
 * jobs do: they read no content, only which reminders are due. Everything that reads or changes a
 * user's tasks or subscriptions is scoped by that user as ?1.
 */
import { d1 } from '../db'
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

/**
 * Claims the reminders due by `now` (and not older than `since`) of tasks not completed, oldest
 * first, as many as fit in `pushes` messages (each user's subscriptions counted), and marks them sent,
 * in one statement: of two overlapping runs, each reminder goes to exactly one.
 */
export async function claimReminders(
  db: D1Database,
  now: string,
  since: string,
  pushes: number,
  max: number,
): Promise<Claim[]> {
  const { results } = await d1(
    () =>
      db
        .prepare(
          `UPDATE task_reminders SET sent_at = ?1
           WHERE task_id IN (
             SELECT task_id FROM (
               SELECT r.task_id,
                      sum((SELECT count(*) FROM push_subscriptions AS s WHERE s.user_id = r.user_id))
                        OVER (ORDER BY r.remind_at, r.task_id) AS pushes
               FROM task_reminders AS r
               WHERE r.sent_at IS NULL AND r.remind_at <= ?1 AND r.remind_at > ?2
                 AND EXISTS (SELECT 1 FROM tasks AS t WHERE t.id = r.task_id AND t.user_id = r.user_id AND t.completed = 0)
               ORDER BY r.remind_at, r.task_id
               LIMIT ?4)
             WHERE pushes <= ?3)
           RETURNING task_id, user_id`,
        )
        .bind(now, since, pushes, max)
        .all<{ task_id: string; user_id: string }>(),
    JOB_TIMEOUT_MS,
  )
  return results.map((row) => ({ taskId: row.task_id, userId: row.user_id }))
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
              `SELECT id, title, due_at, remind_at, completed FROM tasks
               WHERE user_id = ?1 AND id IN (SELECT value FROM json_each(?2))`,
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
