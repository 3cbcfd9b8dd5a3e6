/**
 * The caller's conversations for GET /me/export (src/account/export.ts): the JSON of the
 * `conversations` array's members, as GET /conversations/{id} shows each, made a page at a time.
 * Each piece is one D1 round trip, read only when the export's reader asks for more.
 */
import { ConversationService, type StoredMessage } from '../conversations/service'
import type { Db } from '../db'
import { mainWire } from './wire'

/** Messages read per round trip: at their largest, a few megabytes held at once. */
export const EXPORT_MESSAGES_PAGE = 50

const messageJson = (m: StoredMessage) =>
  JSON.stringify({ role: m.role, content: m.content, toolCalls: m.toolCalls, createdAt: m.createdAt })

/** The members of the `conversations` array, comma-separated, oldest conversation first. */
export async function* exportedConversations(db: Db, userId: string): AsyncGenerator<string> {
  const conversations = new ConversationService(db, userId)
  let after = 0
  let separator = ''
  for (;;) {
    const found = await conversations.exportFrom(after, EXPORT_MESSAGES_PAGE)
    if (!found) return
    const { conversation, messages } = found
    const head = JSON.stringify(mainWire.summary(conversation)).slice(0, -1)
    let text = `${separator}${head},"messages":[${messages.map(messageJson).join(',')}`
    let page = messages
    while (page.length === EXPORT_MESSAGES_PAGE) {
      yield text
      page = await conversations.exportMessages(conversation.number, page.at(-1)!.seq, EXPORT_MESSAGES_PAGE)
      text = page.map((m) => `,${messageJson(m)}`).join('')
    }
    yield `${text}]}`
    separator = ','
    after = conversation.number
  }
}
