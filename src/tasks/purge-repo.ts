/**
 * Tombstone purge, run hourly by the Cron Trigger (src/scheduled.ts). The one place that writes
 * across users: a maintenance job with no caller, so there is no user to scope by.
 */
import { d1 } from '../db'

/** How long a deletion stays in the sync feed; a client away for longer must resync. */
export const TOMBSTONE_DAYS = 30

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
  const [, purged] = await d1(
    () =>
      db.batch([
        db
          .prepare(
            `UPDATE task_sync
           SET horizon = max(horizon, (SELECT max(seq) FROM task_tombstones AS t
                                       WHERE t.user_id = task_sync.user_id AND t.deleted_at < ?1))
           WHERE user_id IN (SELECT user_id FROM task_tombstones WHERE deleted_at < ?1)`,
          )
          .bind(cutoff),
        db.prepare('DELETE FROM task_tombstones WHERE deleted_at < ?1').bind(cutoff),
      ]),
    PURGE_TIMEOUT_MS,
  )
  return purged!.meta.changes
}
