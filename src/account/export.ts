/**
 * GET /me/export: the caller's tasks, event log, notifications and conversations as one JSON
 * document, written a page at a time as the client reads it, so memory holds one page however much
 * is stored.
 */
import { exportedConversations } from '../chat/export'
import type { Db } from '../db'
import type { User } from '../env'
import { toEvent } from '../events/model'
import { listEvents } from '../events/repo'
import { MAX_NOTIFICATIONS_PER_USER, toNotification } from '../notifications/model'
import { exportNotifications } from '../notifications/repo'
import { exportPage } from './repo'

export const EXPORT_PAGE_SIZE = 500

/** One page of a list: the items as JSON, and the position after the last. */
type Pager = (after: number) => Promise<{ json: string[]; last: number | undefined }>
/** A list written as pieces of its JSON text, separators included (a conversation and its messages). */
type Pieces = () => AsyncGenerator<string>

const tasks =
  (db: Db, userId: string): Pager =>
  async (after) => {
    const page = await exportPage(db, userId, after, EXPORT_PAGE_SIZE)
    return { json: page.map(({ task }) => JSON.stringify(task)), last: page.at(-1)?.seq }
  }

const events =
  (db: Db, userId: string): Pager =>
  async (after) => {
    const rows = await listEvents(db, userId, after, EXPORT_PAGE_SIZE)
    return { json: rows.map((row) => JSON.stringify(toEvent(row))), last: rows.at(-1)?.seq }
  }

/** The inbox, bounded per user (MAX_NOTIFICATIONS_PER_USER): one page. */
const notifications =
  (db: Db, userId: string): Pager =>
  async (after) => {
    if (after > 0) return { json: [], last: undefined }
    const rows = await exportNotifications(db, userId, MAX_NOTIFICATIONS_PER_USER)
    return { json: rows.map((row) => JSON.stringify(toNotification(row))), last: undefined }
  }

/**
 * `{"sub":…,"exportedAt":…,"tasks":[…],"events":[…],"notifications":[…],"conversations":[…]}`: the
 * tasks in the order they were last written, then the event log, the notifications and the
 * conversations (each with its messages), oldest first. Each page is read
 * only when the client has taken the one before (a pull stream with no buffer ahead), so a task
 * changed while the export streams may appear twice, the later entry being its current state (as in
 * the sync feed). The status is sent before the first page is read, so a D1 failure midway can only
 * end the stream with an error: it is logged, and the client sees a body that does not parse.
 */
export function exportStream(db: Db, user: User, now: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const lists: [string, Pager | Pieces][] = [
    ['tasks', tasks(db, user.id)],
    ['events', events(db, user.id)],
    ['notifications', notifications(db, user.id)],
    ['conversations', () => exportedConversations(db, user.id)],
  ]
  let pieces: AsyncGenerator<string> | undefined
  let list = -1
  let after = 0
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (list === -1) {
          list = 0
          controller.enqueue(encoder.encode(`{"sub":${JSON.stringify(user.id)},"exportedAt":"${now}","tasks":[`))
          return
        }
        const [name, read] = lists[list]!
        let page: Awaited<ReturnType<Pager>>
        try {
          if (name === 'conversations') {
            pieces ??= (read as Pieces)()
            const piece = await pieces.next()
            if (!piece.done) {
              controller.enqueue(encoder.encode(piece.value))
              return
            }
            page = { json: [], last: undefined }
          } else page = await (read as Pager)(after)
        } catch (error) {
          console.error(JSON.stringify({ level: 'error', message: 'export failed', error: String(error) }))
          controller.error(error)
          return
        }
        const items = page.json.join(',')
        if (items) controller.enqueue(encoder.encode(after > 0 ? `,${items}` : items))
        if (page.json.length === EXPORT_PAGE_SIZE && page.last !== undefined) {
          after = page.last
          return
        }
        list++
        after = 0
        const next = lists[list]
        controller.enqueue(encoder.encode(next ? `],"${next[0]}":[` : ']}'))
        if (!next) controller.close()
      },
    },
    { highWaterMark: 0 },
  )
}
