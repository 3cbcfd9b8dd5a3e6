/**
 * Notifications made the way production makes them: tasks whose reminders fall due, and a run of the
 * reminder job. The job looks at every user's due reminders, so each test file runs it at its own
 * times (`clock`), days from any other file's.
 */
import { env } from 'cloudflare:workers'
import { sendDueReminders } from '../../src/reminders/job'
import { type SignedIn, signIn } from '../helpers'

const MINUTE = 60_000

/** Run times for one test file: each call to next() is ten days after the last, from `start`. */
export function clock(start: string) {
  let at = Date.parse(start)
  return {
    next() {
      at += 10 * 24 * 60 * MINUTE
      return at
    },
  }
}

/**
 * `count` open tasks of the user, numbered after its last one, their reminders due a second apart
 * just before `at` (the first oldest). Their titles are `${title} 1`, `${title} 2`…, their
 * descriptions `About 1`…. Returns the tasks' ids, in that order.
 */
export async function dueTasks(userId: string, count: number, at: number, title = 'Task'): Promise<string[]> {
  const last = await env.DB.prepare('SELECT last_number FROM task_counts WHERE user_id = ?1')
    .bind(userId)
    .first<number>('last_number')
  const { results } = await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
     INSERT INTO tasks (id, user_id, title, description, created_at, updated_at, remind_at, number)
     SELECT lower(hex(randomblob(4))) || '-0000-4000-8000-' || printf('%012d', ?3 + i), ?1, ?4 || ' ' || i,
            'About ' || i, ?5, ?5, strftime('%Y-%m-%dT%H:%M:%fZ', ?6, '+' || i || ' seconds'), ?3 + i
     FROM n
     RETURNING id, number`,
  )
    .bind(
      userId,
      count,
      last ?? 0,
      title,
      new Date(at - 2 * 60 * MINUTE).toISOString(),
      new Date(at - (count + 1) * 1000).toISOString(),
    )
    .all<{ id: string; number: number }>()
  return results.sort((a, b) => a.number - b.number).map((r) => r.id)
}

/** Runs the reminder job at `at`, as a deployment without Web Push would: the inbox only. */
export const runJob = (at: number) => sendDueReminders({ DB: env.DB }, at)

/** The user's notifications as stored, oldest first. */
export const storedNotifications = (userId: string) =>
  env.DB.prepare(
    'SELECT number, task_id, task_number, title, message, is_read, sent_at FROM notifications WHERE user_id = ?1 ORDER BY number',
  )
    .bind(userId)
    .all<{
      number: number
      task_id: string | null
      task_number: number | null
      title: string
      message: string
      is_read: number
      sent_at: string
    }>()
    .then((r) => r.results)

/**
 * A signed-in user with `count` notifications from the job, at `times`' next run: numbers 1..count,
 * all unread.
 */
export async function inboxAt(times: ReturnType<typeof clock>, count: number): Promise<SignedIn> {
  const user = await signIn()
  const at = times.next()
  await dueTasks(user.id, count, at, 'Reminder')
  await runJob(at)
  return user
}
