/**
 * The SQL of Idempotency-Key records (migrations/0005): the keyed create, scoped by `user_id = ?1`,
 * and the purge of expired records.
 */
import { type Db, d1 } from '../db'
import type { Actor } from '../events/model'
import type { Task, TaskFields } from '../tasks/model'
import { type Committed, committed, insertStatement, type WrittenRow } from '../tasks/repo'
import { newTask } from '../tasks/row'
import { IDEMPOTENCY_WINDOW_MS, idempotencyCutoff } from './key'

export interface IdempotencyKey {
  key: string
  /** Fingerprint of the validated request (src/idempotency/key.ts). */
  fingerprint: string
}

export type OnceResult =
  /** This request's new task; `listening`: its user may have a live socket to tell (src/tasks/repo.ts LISTENING). */
  | ({ outcome: 'created' } & Committed)
  /** The task the key first created, as the response sent then showed it. */
  | { outcome: 'replayed'; task: Task }
  /** The key is live with another fingerprint; nothing was written. */
  | { outcome: 'key-reused' }
  /** The key is free but the user is at the quota; nothing was written, so a retry may yet succeed. */
  | { outcome: 'over-quota' }
  /** The key is free but the user holds their budget of live records; one ages out in `retryAfterSeconds`. */
  | { outcome: 'over-key-budget'; retryAfterSeconds: number }

interface KeyRow {
  request_hash: string
  task_id: string
  response_body: string
}

interface BudgetRow {
  tasks: number
  records: number
  oldest: string | null
}

/** Bounds on one keyed create: the task quota, and the live Idempotency-Key records a user may hold. */
export interface CreateBounds {
  quota: number
  keyBudget: number
}

/**
 * Creates the task unless the user's key already has a live record (or the user is at `quota`, or
 * holds `keyBudget` live records, so that a keyed create never stores a task it could not record),
 * in one batch (one transaction): the user's expired records go, then the task, then the key record
 * only if that task now exists, then whichever record the key has, and the counts that explain a
 * refusal. D1 runs one batch at a time, so of any number of concurrent requests with one key
 * exactly one inserts, and every other one reads its record and replays it.
 */
export async function insertTaskOnce(
  db: Db,
  userId: string,
  { key, fingerprint }: IdempotencyKey,
  input: TaskFields,
  now: string,
  actor: Actor,
  { quota, keyBudget }: CreateBounds,
): Promise<OnceResult> {
  const task = newTask(input, crypto.randomUUID(), now)
  const body = JSON.stringify(task)
  const cutoff = idempotencyCutoff(now)
  const keyIsFree = {
    sql: `NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE user_id = ?1 AND key = ?16 AND created_at > ?17)
          AND coalesce((SELECT idempotency_keys FROM task_counts WHERE user_id = ?1), 0) < ?18`,
    params: [key, cutoff, keyBudget],
  }
  const [, inserted, , record, budget] = await d1(() =>
    db.batch([
      // Served by idempotency_keys_by_user_created: reads only the expired records, usually none.
      db.prepare('DELETE FROM idempotency_keys WHERE user_id = ?1 AND created_at <= ?2').bind(userId, cutoff),
      insertStatement(db, userId, task.id, input, now, actor, quota, keyIsFree),
      db
        .prepare(
          `INSERT INTO idempotency_keys (user_id, key, request_hash, task_id, status, response_body, created_at)
           SELECT ?1, ?2, ?3, ?4, 201, json_set(?5, '$.number', number), ?6 FROM tasks WHERE user_id = ?1 AND id = ?4
           ON CONFLICT (user_id, key) DO UPDATE SET
             request_hash = excluded.request_hash, task_id = excluded.task_id, status = excluded.status,
             response_body = excluded.response_body, created_at = excluded.created_at`,
        )
        .bind(userId, key, fingerprint, task.id, body, now),
      db
        .prepare(
          'SELECT request_hash, task_id, response_body FROM idempotency_keys WHERE user_id = ?1 AND key = ?2 AND created_at > ?3',
        )
        .bind(userId, key, cutoff),
      db
        .prepare(
          `SELECT coalesce(n, 0) AS tasks, coalesce(idempotency_keys, 0) AS records,
                  (SELECT min(created_at) FROM idempotency_keys WHERE user_id = ?1) AS oldest
           FROM (SELECT 1) LEFT JOIN task_counts ON user_id = ?1`,
        )
        .bind(userId),
    ]),
  )
  const row = (record?.results[0] ?? null) as KeyRow | null
  // No live record after the batch: the key was free, and the quota or the key budget refused the task.
  if (row === null) {
    const { tasks, records, oldest } = budget!.results[0] as BudgetRow
    if (tasks < quota && records >= keyBudget && oldest !== null) {
      const agesOutMs = Date.parse(oldest) + IDEMPOTENCY_WINDOW_MS - Date.parse(now)
      return { outcome: 'over-key-budget', retryAfterSeconds: Math.max(1, Math.ceil(agesOutMs / 1000)) }
    }
    return { outcome: 'over-quota' }
  }
  if (row.task_id === task.id) return { outcome: 'created', ...committed(inserted!.results[0] as WrittenRow) }
  if (row.request_hash !== fingerprint) return { outcome: 'key-reused' }
  return { outcome: 'replayed', task: JSON.parse(row.response_body) as Task }
}

/** Rows per statement: keeps each write short, so D1's single writer is never held for long. */
export const PURGE_BATCH_SIZE = 500

/**
 * Deletes every record expired at `now` (ISO), a batch at a time; returns how many went. Requests
 * already ignore them, so this only bounds storage; it runs from the Cron Trigger (src/scheduled.ts).
 * The one statement on the table that is not scoped by user: it reads no record's content and spans
 * all users by design.
 */
export async function purgeExpiredIdempotencyKeys(db: D1Database, now: string): Promise<number> {
  const cutoff = idempotencyCutoff(now)
  const statement = db
    .prepare(
      // Served by idempotency_keys_by_created: only expired rows are read.
      // RETURNING counts the records: D1's `changes` would also count what the record-count trigger writes.
      `DELETE FROM idempotency_keys WHERE rowid IN
         (SELECT rowid FROM idempotency_keys WHERE created_at <= ?1 LIMIT ?2) RETURNING 1`,
    )
    .bind(cutoff, PURGE_BATCH_SIZE)
  let deleted = 0
  for (;;) {
    const { results } = await d1(() => statement.all())
    deleted += results.length
    if (results.length < PURGE_BATCH_SIZE) return deleted
  }
}
