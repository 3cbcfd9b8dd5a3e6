/**
 * Every SQL statement of the notification inbox but the one that records reminders (the reminder
 * job's, src/reminders/repo.ts, which numbers them after NEXT_NUMBER). The user id is always ?1 and
 * every statement is scoped by it: a notification is only ever read, marked or deleted by its owner.
 */
import { type Db, d1 } from '../db'
import type { NotificationRow } from './model'

const COLUMNS = 'number, type, task_id, task_number, title, message, is_read, sent_at'

/** The user's last notification number: a new one is numbered after it (SQL over ?1, the user). */
export const LAST_NUMBER = 'coalesce((SELECT last_number FROM notification_counts WHERE user_id = ?1), 0)'

/**
 * After notifications were numbered past LAST_NUMBER, in the same batch: counts them into the user's
 * row, then deletes what is over `max`, the oldest read ones first, then the oldest unread. Each
 * step reads only the rows it counts or deletes.
 */
export function keepWithinBound(db: Db, userId: string, max: number): D1PreparedStatement[] {
  const excess = `coalesce((SELECT max(0, n - ?2) FROM notification_counts WHERE user_id = ?1), 0)`
  return [
    db
      .prepare(
        `INSERT INTO notification_counts (user_id, last_number, n)
         SELECT ?1, max(number), count(*) FROM notifications WHERE user_id = ?1 AND number > ${LAST_NUMBER}
         HAVING count(*) > 0
         ON CONFLICT (user_id) DO UPDATE SET last_number = excluded.last_number, n = n + excluded.n`,
      )
      .bind(userId),
    db
      .prepare(
        `DELETE FROM notifications WHERE user_id = ?1 AND number IN (
           SELECT number FROM (
             SELECT number, 0 AS unread FROM (SELECT number FROM notifications
                                             WHERE user_id = ?1 AND is_read = 1 ORDER BY number LIMIT ${excess})
             UNION ALL
             SELECT number, 1 AS unread FROM (SELECT number FROM notifications
                                             WHERE user_id = ?1 AND is_read = 0 ORDER BY number LIMIT ${excess}))
           ORDER BY unread, number LIMIT ${excess})`,
      )
      .bind(userId, max),
    db.prepare('UPDATE notification_counts SET n = ?2 WHERE user_id = ?1 AND n > ?2').bind(userId, max),
  ]
}

/** The user's notifications, newest first (all, or the unread ones); at most `max`, which is all of them. */
export async function listNotifications(
  db: Db,
  userId: string,
  { unreadOnly, max }: { unreadOnly: boolean; max: number },
): Promise<NotificationRow[]> {
  const { results } = await d1(() =>
    db
      .prepare(
        `SELECT ${COLUMNS} FROM notifications WHERE user_id = ?1 ${unreadOnly ? 'AND is_read = 0' : ''}
         ORDER BY number DESC LIMIT ?2`,
      )
      .bind(userId, max)
      .all<NotificationRow>(),
  )
  return results
}

export async function countUnread(db: Db, userId: string): Promise<number> {
  const row = await d1(() =>
    db
      .prepare('SELECT count(*) AS n FROM notifications WHERE user_id = ?1 AND is_read = 0')
      .bind(userId)
      .first<{ n: number }>(),
  )
  return row?.n ?? 0
}

/** Marks the user's unread notifications among `numbers` read; others' and unknown ones are ignored. How many it marked. */
export async function markRead(db: Db, userId: string, numbers: readonly number[]): Promise<number> {
  if (numbers.length === 0) return 0
  const { meta } = await d1(() =>
    db
      .prepare(
        `UPDATE notifications SET is_read = 1
         WHERE user_id = ?1 AND is_read = 0 AND number IN (SELECT value FROM json_each(?2))`,
      )
      .bind(userId, JSON.stringify(numbers))
      .run(),
  )
  return meta.changes
}

/** Marks every unread notification of the user read; how many it marked. */
export async function markAllRead(db: Db, userId: string): Promise<number> {
  const { meta } = await d1(() =>
    db.prepare('UPDATE notifications SET is_read = 1 WHERE user_id = ?1 AND is_read = 0').bind(userId).run(),
  )
  return meta.changes
}

/** Deletes the user's notification `number`, and counts it out; false when the user has none such. */
export async function deleteNotification(db: Db, userId: string, number: number): Promise<boolean> {
  const [, deleted] = await d1(() =>
    db.batch([
      db
        .prepare(
          `UPDATE notification_counts SET n = n - 1
           WHERE user_id = ?1 AND EXISTS (SELECT 1 FROM notifications WHERE user_id = ?1 AND number = ?2)`,
        )
        .bind(userId, number),
      db.prepare('DELETE FROM notifications WHERE user_id = ?1 AND number = ?2 RETURNING number').bind(userId, number),
    ]),
  )
  return (deleted?.results.length ?? 0) > 0
}

/** Every notification of the user, oldest first, for the export (at most `max`, which is all of them). */
export async function exportNotifications(db: Db, userId: string, max: number): Promise<NotificationRow[]> {
  const { results } = await d1(() =>
    db
      .prepare(`SELECT ${COLUMNS} FROM notifications WHERE user_id = ?1 ORDER BY number LIMIT ?2`)
      .bind(userId, max)
      .all<NotificationRow>(),
  )
  return results
}
