/** The one statement live updates run: where the user's change sequence stands. The user id is ?1. */
import { type Db, d1 } from '../db'

/** The user's last change sequence number (migrations/0004); 0 for a user with nothing written yet. */
export async function currentSequence(db: Db, userId: string): Promise<number> {
  const row = await d1(() =>
    db.prepare('SELECT seq FROM task_counts WHERE user_id = ?1').bind(userId).first<{ seq: number }>(),
  )
  return row?.seq ?? 0
}
