/**
 * Every SQL statement about a whole account: erasing it, and reading it out for export. The user
 * id is ?1 in each, as everywhere.
 */
import { type Db, d1 } from '../db'
import type { Task } from '../tasks/model'
import { COLUMNS } from '../tasks/repo'
import { type TaskRow, toTask } from '../tasks/row'

/** Every table with rows of a user, in the order erasure empties them. */
export const ERASED = [
  'push_retries',
  'push_subscriptions',
  'notifications',
  'notification_counts',
  'task_reminders',
  'idempotency_keys',
  'tasks',
  'task_events',
  'task_tombstones',
  'task_counts',
  'chat_messages',
  'conversations',
  'chat_counts',
] as const

/**
 * Deletes everything stored for the user, in one transaction: push retries and subscriptions, the
 * notification inbox and its counter, reminders, Idempotency-Key records, tasks (whose triggers
 * write tombstones and bump the sequence), the event log (the erasure logs no deletions: only the
 * repos' deletes do, src/events/), then the tombstones and the counter row (with the sequence) those
 * triggers touched, then the assistant's messages, conversations and their counter row. Erasing an
 * account with nothing stored changes nothing.
 */
export async function eraseUser(db: Db, userId: string): Promise<void> {
  await d1(() => db.batch(ERASED.map((table) => db.prepare(`DELETE FROM ${table} WHERE user_id = ?1`).bind(userId))))
}

/**
 * One page of the user's tasks after sequence number `after`, in the order they were last written.
 * Served by tasks_by_user_seq from the position on: a single-column seek, so every row read is a
 * row returned (a (created_at, id) seek would read each page's boundary row twice).
 */
export async function exportPage(
  db: Db,
  userId: string,
  after: number,
  limit: number,
): Promise<{ seq: number; task: Task }[]> {
  const { results } = await d1(() =>
    db
      .prepare(`SELECT ${COLUMNS}, seq FROM tasks WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3`)
      .bind(userId, after, limit)
      .all<TaskRow & { seq: number }>(),
  )
  return results.map((row) => ({ seq: row.seq, task: toTask(row) }))
}
