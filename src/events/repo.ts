/**
 * The SQL of the task event log (migrations/0014, docs/events.md): the events of a delete (creates
 * and updates are logged by triggers), the reads, the webhook delivery state, and the purge. Every
 * statement about a user's events binds the user as ?1; the sweep and the purge span users by
 * design, as the other maintenance jobs do, and read no event's content.
 */
import { type Db, d1 } from '../db'
import { type Actor, changedBy, type EventRow } from './model'

/** A random version 4 UUID, made by SQLite for each row: the event's delivery id. */
const EVENT_ID = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
  || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`

/** The task as the API shows it (toTask, src/tasks/row.ts), from a row of `tasks`: as the triggers build it. */
const TASK_JSON = `json_object(
  'id', id, 'title', title, 'description', description,
  'completed', json(iif(completed = 1, 'true', 'false')), 'priority', priority, 'dueAt', due_at,
  'tags', json(tags), 'createdAt', created_at, 'updatedAt', updated_at,
  'completedAt', completed_at, 'version', version, 'number', number,
  'recurrence', json(recurrence), 'timeZone', time_zone, 'nextTaskId', next_task_id,
  'nextTaskNumber', (SELECT s.number FROM tasks AS s WHERE s.user_id = tasks.user_id AND s.id = tasks.next_task_id),
  'remindAt', remind_at)`

const EVENT_COLUMNS = 'user_id, seq, id, type, task_id, task_number, task, door, client_id, created_at'

/**
 * The task.deleted events of the user's tasks that `where` (over the user as ?1 and `params`) picks,
 * by `actor` at `now`: run just before the DELETE with the same WHERE, in the same batch. They take
 * the sequence numbers the deletions' tombstones get (the tombstone trigger counts on from the
 * user's last number), in the order of the tasks' numbers; a bulk delete's tombstones may take them
 * in another order, so there the log and the sync feed number each deletion alike only as a set.
 */
export function deletedEvents(
  db: Db,
  where: string,
  params: unknown[],
  now: string,
  actor: Actor,
): D1PreparedStatement {
  const by = `?${params.length + 1}`
  const at = `?${params.length + 2}`
  return db
    .prepare(
      `INSERT INTO task_events (${EVENT_COLUMNS}, delivery, next_attempt_at)
       SELECT user_id, (SELECT seq FROM task_counts WHERE user_id = ?1) + row_number() OVER (ORDER BY number),
              ${EVENT_ID}, 'task.deleted', id, number, ${TASK_JSON}, ${by} ->> '$.door', ${by} ->> '$.client', ${at},
              iif(${by} ->> '$.deliver', 'pending', NULL), iif(${by} ->> '$.deliver', ${at}, NULL)
       FROM tasks WHERE ${where}`,
    )
    .bind(...params, changedBy(actor), now)
}

/**
 * Up to `limit` of the user's events after sequence number `after`, oldest first; with `task`, only
 * that task's (which reads the user's log from `after` on: the log has no index by task, which would
 * be a second row written per change).
 */
export async function listEvents(
  db: Db,
  userId: string,
  after: number,
  limit: number,
  task?: { id: string } | { number: number },
): Promise<EventRow[]> {
  const which = task === undefined ? '' : 'id' in task ? 'AND task_id = ?4' : 'AND task_number = ?4'
  const params: unknown[] = [userId, after, limit]
  if (task !== undefined) params.push('id' in task ? task.id : task.number)
  const { results } = await d1(() =>
    db
      .prepare(
        `SELECT ${EVENT_COLUMNS} FROM task_events WHERE user_id = ?1 AND seq > ?2 ${which} ORDER BY seq LIMIT ?3`,
      )
      .bind(...params)
      .all<EventRow>(),
  )
  return results
}

/** An event to deliver, and how often delivery was tried. */
export type PendingRow = EventRow & { attempts: number }

/** Up to `limit` of the user's events due for delivery at `now`, oldest first. */
export async function pendingEvents(db: D1Database, userId: string, now: string, limit: number): Promise<PendingRow[]> {
  const { results } = await d1(() =>
    db
      .prepare(
        `SELECT ${EVENT_COLUMNS}, attempts FROM task_events
         WHERE user_id = ?1 AND delivery = 'pending' AND next_attempt_at <= ?2 ORDER BY seq LIMIT ?3`,
      )
      .bind(userId, now, limit)
      .all<PendingRow>(),
  )
  return results
}

/** What came of one delivery attempt. */
export type Attempt =
  | { seq: number; outcome: 'delivered'; at: string }
  | { seq: number; outcome: 'retry'; at: string }
  | { seq: number; outcome: 'dead' }

/**
 * Records the user's attempts, in one transaction: delivered, to retry at `at`, or given up. Only a
 * pending event changes, so a late duplicate delivery cannot undo what another one recorded.
 */
export async function recordAttempts(db: D1Database, userId: string, attempts: Attempt[]): Promise<void> {
  if (attempts.length === 0) return
  const statements = attempts.map((attempt) => {
    const sets =
      attempt.outcome === 'delivered'
        ? "delivery = 'delivered', delivered_at = ?3, next_attempt_at = NULL"
        : attempt.outcome === 'retry'
          ? 'next_attempt_at = ?3'
          : "delivery = 'dead', next_attempt_at = NULL"
    const params = [userId, attempt.seq, ...(attempt.outcome === 'dead' ? [] : [attempt.at])]
    return db
      .prepare(
        `UPDATE task_events SET ${sets}, attempts = attempts + 1
         WHERE user_id = ?1 AND seq = ?2 AND delivery = 'pending'`,
      )
      .bind(...params)
  })
  await d1(() => db.batch(statements))
}

/**
 * Users with an event still pending whose next attempt was due at or before `dueBefore`: its queue
 * message was lost (or its consumer failed), so the sweep sends another. At most `limit` users.
 */
export async function overdueUsers(db: D1Database, dueBefore: string, limit: number): Promise<string[]> {
  const { results } = await d1(() =>
    db
      .prepare(
        `SELECT DISTINCT user_id FROM task_events
         WHERE delivery = 'pending' AND next_attempt_at <= ?1 LIMIT ?2`,
      )
      .bind(dueBefore, limit)
      .all<{ user_id: string }>(),
  )
  return results.map((row) => row.user_id)
}

/** Users per purge statement, and events it deletes at most: every write stays short. */
const PURGE_USERS = 100
const PURGE_ROWS = 500
// No client waits on the job: give it longer than a request's round trip gets.
const PURGE_TIMEOUT_MS = 60_000

/**
 * Deletes every user's events created before `cutoff` and all but the newest `perUser`, oldest first,
 * and returns how many went. Users are visited in order of id, a hundred per statement; for each,
 * the events go from the oldest up to the first one young enough, or to the `perUser` newest by
 * sequence number (the user's numbers are consecutive, so no count is needed): both seek the log's
 * primary key, so a user with nothing to purge costs a row or two read.
 */
export async function purgeEvents(db: D1Database, cutoff: string, perUser: number): Promise<number> {
  const users = 'SELECT user_id, seq FROM task_counts WHERE user_id > ?1 ORDER BY user_id LIMIT ?2'
  const purge = db.prepare(
    `DELETE FROM task_events WHERE (user_id, seq) IN (
       SELECT e.user_id, e.seq FROM (${users}) AS c
       JOIN task_events AS e ON e.user_id = c.user_id AND e.seq <= max(c.seq - ?3,
         coalesce((SELECT k.seq FROM task_events AS k WHERE k.user_id = c.user_id AND k.created_at >= ?4
                   ORDER BY k.seq LIMIT 1) - 1, c.seq))
       LIMIT ?5)
     RETURNING 1`,
  )
  const last = db.prepare(`SELECT max(user_id) AS user_id FROM (${users})`)
  let after = ''
  let deleted = 0
  for (;;) {
    const [gone, chunk] = await d1(
      () => db.batch([purge.bind(after, PURGE_USERS, perUser, cutoff, PURGE_ROWS), last.bind(after, PURGE_USERS)]),
      PURGE_TIMEOUT_MS,
    )
    deleted += gone!.results.length
    // A full statement may have left more for these users: the same ones again.
    if (gone!.results.length === PURGE_ROWS) continue
    const next = (chunk!.results[0] as { user_id: string | null }).user_id
    if (next === null) return deleted
    after = next
  }
}
