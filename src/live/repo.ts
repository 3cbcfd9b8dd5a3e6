/** The statements live updates run: where the user's change sequence stands, and who listens. The user id is ?1. */
import { type Db, d1 } from '../db'

/** The user's last change sequence number (migrations/0004); 0 for a user with nothing written yet. */
export async function currentSequence(db: Db, userId: string): Promise<number> {
  const row = await d1(() =>
    db.prepare('SELECT seq FROM task_counts WHERE user_id = ?1').bind(userId).first<{ seq: number }>(),
  )
  return row?.seq ?? 0
}

/**
 * Marks the user as listening until `until` (ms since the epoch; migrations/0015) and reads their
 * last change sequence number, in one statement. A write committed after it reads the mark and pokes
 * (src/tasks/repo.ts LISTENING); one committed before it is in the number read.
 */
export async function listenFrom(db: Db, userId: string, until: number): Promise<number> {
  const row = await d1(() =>
    db
      .prepare(
        `INSERT INTO task_counts (user_id, n, live_until) VALUES (?1, 0, ?2)
         ON CONFLICT (user_id) DO UPDATE SET live_until = max(live_until, excluded.live_until)
         RETURNING seq`,
      )
      .bind(userId, until)
      .first<{ seq: number }>(),
  )
  return row!.seq
}
