/**
 * GET /me/export: the caller's tasks and conversations as one JSON document, written a page at a
 * time as the client reads it, so memory holds one page however much is stored.
 */
import { exportedConversations } from '../chat/export'
import type { Db } from '../db'
import type { User } from '../env'
import { exportPage } from './repo'

export const EXPORT_PAGE_SIZE = 500

/**
 * `{"sub":…,"exportedAt":…,"tasks":[…],"conversations":[…]}`, the tasks in the order they were last
 * written, the conversations oldest first, each with its messages. Each page is read only when the
 * client has taken the one before (a pull stream with no buffer ahead), so a task changed while the
 * export streams may appear twice, the later entry being its current state (as in the sync feed).
 * The status is sent before the first page is read, so a D1 failure midway can only end the stream
 * with an error: it is logged, and the client sees a body that does not parse.
 */
export function exportStream(db: Db, user: User, now: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let after = 0
  let opened = false
  let conversations: AsyncGenerator<string> | undefined
  /** The next piece of the document after the opening: a page of tasks, then of conversations. */
  async function next(): Promise<{ text: string; last: boolean }> {
    if (conversations) {
      const { done, value } = await conversations.next()
      return done ? { text: ']}', last: true } : { text: value, last: false }
    }
    const page = await exportPage(db, user.id, after, EXPORT_PAGE_SIZE)
    const tasks = page.map(({ task }) => JSON.stringify(task)).join(',')
    let text = tasks && (after > 0 ? `,${tasks}` : tasks)
    const last = page.at(-1)
    if (page.length < EXPORT_PAGE_SIZE || !last) {
      text += '],"conversations":['
      conversations = exportedConversations(db, user.id)
    } else {
      after = last.seq
    }
    return { text, last: false }
  }
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!opened) {
          opened = true
          controller.enqueue(encoder.encode(`{"sub":${JSON.stringify(user.id)},"exportedAt":"${now}","tasks":[`))
          return
        }
        let piece: { text: string; last: boolean }
        try {
          piece = await next()
        } catch (error) {
          console.error(JSON.stringify({ level: 'error', message: 'export failed', error: String(error) }))
          controller.error(error)
          return
        }
        if (piece.text) controller.enqueue(encoder.encode(piece.text))
        if (piece.last) controller.close()
      },
    },
    { highWaterMark: 0 },
  )
}
