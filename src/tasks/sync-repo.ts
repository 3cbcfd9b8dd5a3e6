/**
 * The SQL of the sync feed (sync.ts): the reads of a page, scoped by `user_id = ?1`, and the hourly
 * tombstone purge (src/scheduled.ts), the one statement here that spans users: a maintenance job
 * with no caller, so there is no user to scope by.
 */
import { type Db, d1 } from '../db'
import type { Task } from './model'
import { COLUMNS } from './repo'
import { type TaskRow, toTask } from './row'

export interface ChangesRead {
  /** The user's last sequence number, and the highest one of a purged tombstone (0 and 0 for a new user). */
  seq: number
  horizon: number
  /** Tasks written after `after`, in sequence order. */
  tasks: { seq: number; task: Task }[]
  /** Tasks deleted after `tombstonesAfter`, in sequence order. */
  tombstones: { seq: number; id: string }[]
}

export interface ChangesOptions {
  after: number
  /** Undefined: no tombstones are read (a feed from the beginning needs none). */
  tombstonesAfter: number | undefined
  limit: number
}

/**
 * The sync feed's reads, in one batch: one transaction, so the sequence number, the tasks and the
 * tombstones are the same snapshot. Served by tasks (user_id, seq) and the tombstones' primary key.
 */
export async function readChanges(
  db: Db,
  userId: string,
  { after, tombstonesAfter, limit }: ChangesOptions,
): Promise<ChangesRead> {
  const statements = [
    db.prepare('SELECT seq, horizon FROM task_counts WHERE user_id = ?1').bind(userId),
    db
      .prepare(`SELECT ${COLUMNS}, seq FROM tasks WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3`)
      .bind(userId, after, limit),
  ]
  if (tombstonesAfter !== undefined) {
    statements.push(
      db
        .prepare('SELECT seq, id FROM task_tombstones WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3')
        .bind(userId, tombstonesAfter, limit),
    )
  }
  const [state, tasks, tombstones] = await d1(() => db.batch(statements))
  const sync = state!.results[0] as { seq: number; horizon: number } | undefined
  return {
    seq: sync?.seq ?? 0,
    horizon: sync?.horizon ?? 0,
    tasks: (tasks!.results as (TaskRow & { seq: number })[]).map((row) => ({ seq: row.seq, task: toTask(row) })),
    tombstones: (tombstones?.results ?? []) as { seq: number; id: string }[],
  }
}

/** How long a deletion stays in the sync feed; a client away for longer must resync. */
const TOMBSTONE_DAYS = 30

const DAY_MS = 24 * 60 * 60 * 1000
// No client waits on the job, and a first purge after a busy month may delete many rows: give it
// longer than a request's round trip gets.
const PURGE_TIMEOUT_MS = 60_000

/**
 * Deletes tombstones older than TOMBSTONE_DAYS before `now`, and in the same transaction raises
 * each affected user's horizon to the highest sequence number purged: from then on a sync token
 * older than that is answered 410, exactly the tokens that could have missed a purged deletion.
 * Returns how many tombstones went.
 */
export async function purgeTombstones(db: D1Database, now: number): Promise<number> {
  const cutoff = new Date(now - TOMBSTONE_DAYS * DAY_MS).toISOString()
  // Counted before the delete: D1's `changes` would also count what the tombstone-count trigger writes.
  const [purged] = await d1(
    () =>
      db.batch([
        db.prepare('SELECT count(*) AS n FROM task_tombstones WHERE deleted_at < ?1').bind(cutoff),
        db
          .prepare(
            `UPDATE task_counts
           SET horizon = max(horizon, (SELECT max(seq) FROM task_tombstones AS t
                                       WHERE t.user_id = task_counts.user_id AND t.deleted_at < ?1))
           WHERE user_id IN (SELECT user_id FROM task_tombstones WHERE deleted_at < ?1)`,
          )
          .bind(cutoff),
        db.prepare('DELETE FROM task_tombstones WHERE deleted_at < ?1').bind(cutoff),
      ]),
    PURGE_TIMEOUT_MS,
  )
  return (purged!.results[0] as { n: number }).n
}
