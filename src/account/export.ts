/**
 * GET /me/export: the caller's tasks as one JSON document, written a page at a time as the client
 * reads it, so memory holds one page however many tasks there are.
 */
import type { Db } from '../db'
import type { User } from '../env'
import { exportPage } from './repo'

export const EXPORT_PAGE_SIZE = 500

/**
 * `{"sub":…,"exportedAt":…,"tasks":[…]}`, in the order the tasks were last written. Each page is
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
        let page: Awaited<ReturnType<typeof exportPage>>
        try {
          page = await exportPage(db, user.id, after, EXPORT_PAGE_SIZE)
        } catch (error) {
          console.error(JSON.stringify({ level: 'error', message: 'export failed', error: String(error) }))
          controller.error(error)
          return
        }
        const tasks = page.map(({ task }) => JSON.stringify(task)).join(',')
        if (tasks) controller.enqueue(encoder.encode(after > 0 ? `,${tasks}` : tasks))
        const last = page.at(-1)
        if (page.length < EXPORT_PAGE_SIZE || !last) {
          controller.enqueue(encoder.encode(']}'))
          controller.close()
          return
        }
        after = last.seq
      },
    },
    { highWaterMark: 0 },
  )
}
