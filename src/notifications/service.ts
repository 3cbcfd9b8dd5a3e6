/**
 * The notification inbox of the request's verified user, for both of its doors (/notifications and
 * the /api twins): every statement is the repo's, scoped by the token's `sub`. The reminder job
 * records notifications itself, in the batch that marks each reminder sent (src/reminders/).
 */
import type { Context } from 'hono'
import type { AppEnv } from '../env'
import * as repo from './repo'

export const inbox = (c: Context<AppEnv>) => {
  const db = c.get('db')
  const userId = c.get('user').id
  return {
    list: (options: Parameters<typeof repo.listNotifications>[2]) => repo.listNotifications(db, userId, options),
    unreadCount: () => repo.countUnread(db, userId),
    markRead: (numbers: readonly number[]) => repo.markRead(db, userId, numbers),
    markAllRead: () => repo.markAllRead(db, userId),
    delete: (number: number) => repo.deleteNotification(db, userId, number),
  }
}
