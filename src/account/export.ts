/**
 * GET /me/export: the caller's tasks and notifications as one JSON document, written a page at a
 * time as the client reads it, so memory holds one page however many tasks there are.
 */
import type { Db } from '../db'
import type { User } from '../env'
import { MAX_NOTIFICATIONS_PER_USER, toNotification } from '../notifications/model'
import { exportNotifications } from '../notifications/repo'
import { exportPage } from './repo'

export const EXPORT_PAGE_SIZE = 500

/**
 * `{"sub":…,"exportedAt":…,"tasks":[…],"notifications":[…]}`: the tasks in the order they were last
 * written, then the notifications oldest first (one page: they are bounded per user). Each page is
 * read only when the client has taken the one before (a pull stream with no buffer ahead), so a
 * task changed while the export streams may appear twice, the later entry being its current state
 * (as in the sync feed). The status is sent before the first page is read, so a D1 failure midway
 * can only end the stream with an error: it is logged, and the client sees a body that does not parse.
 */
export function exportStream(db: Db, user: User, now: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let after = 0
  let opened = false
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!opened) {
          opened = true
          controller.enqueue(encoder.encode(`{"sub":${JSON.stringify(user.id)},"exportedAt":"${now}","tasks":[`))
          return
        }
        try {
          const page = await exportPage(db, user.id, after, EXPORT_PAGE_SIZE)
          const tasks = page.map(({ task }) => JSON.stringify(task)).join(',')
          if (tasks) controller.enqueue(encoder.encode(after > 0 ? `,${tasks}` : tasks))
          const last = page.at(-1)
          if (page.length === EXPORT_PAGE_SIZE && last) {
            after = last.seq
            return
          }
          // In the same pull: one that neither enqueues nor closes is not asked again.
          const notifications = await exportNotifications(db, user.id, MAX_NOTIFICATIONS_PER_USER)
          const items = notifications.map((row) => JSON.stringify(toNotification(row))).join(',')
          controller.enqueue(encoder.encode(`],"notifications":[${items}]}`))
          controller.close()
        } catch (error) {
          console.error(JSON.stringify({ level: 'error', message: 'export failed', error: String(error) }))
          controller.error(error)
        }
      },
    },
    { highWaterMark: 0 },
  )
}
