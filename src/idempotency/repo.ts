/**
 * The purge: deletes Idempotency-Key records past their window. Requests already ignore them, so this only
 * bounds storage; it runs from the Cron Trigger (src/index.ts). The one statement on the table
 * that is not scoped by user: it reads no record's content and spans all users by design.
 */
import { d1 } from '../db'
import { idempotencyCutoff } from './key'

/** Rows per statement: keeps each write short, so D1's single writer is never held for long. */
export const PURGE_BATCH_SIZE = 500

/** Deletes every record expired at `now` (ISO), a batch at a time; returns how many went. */
export async function purgeExpiredIdempotencyKeys(db: D1Database, now: string): Promise<number> {
  const cutoff = idempotencyCutoff(now)
  const statement = db
    .prepare(
      // Served by idempotency_keys_by_created: only expired rows are read.
      `DELETE FROM idempotency_keys WHERE rowid IN
         (SELECT rowid FROM idempotency_keys WHERE created_at <= ?1 LIMIT ?2)`,
    )
    .bind(cutoff, PURGE_BATCH_SIZE)
  let deleted = 0
  for (;;) {
    const { meta } = await d1(() => statement.run())
    deleted += meta.changes
    if (meta.changes < PURGE_BATCH_SIZE) return deleted
  }
}
