/**
 * Every SQL statement for conversations and their messages (migrations/0013_conversations.sql).
 * The user id is always ?1 and `user_id = ?1` is in every statement, so no statement can read or
 * write another user's conversation. Each bound is checked in the statement that writes, against
 * the counts the triggers keep, so concurrent turns cannot overshoot it.
 */
import { type Db, d1 } from '../db'
import type { Conversation, StoredMessage, ToolCallRecord } from './model'

interface ConversationRow {
  number: number
  title: string
  messages: number
  created_at: string
  updated_at: string
}

interface MessageRow {
  conversation: number
  seq: number
  role: 'user' | 'assistant'
  content: string
  tool_calls: string
  created_at: string
}

const CONVERSATION_COLUMNS = 'number, title, messages, created_at, updated_at'
const MESSAGE_COLUMNS = 'conversation, seq, role, content, tool_calls, created_at'

const toConversation = (row: ConversationRow): Conversation => ({
  number: row.number,
  title: row.title,
  messages: row.messages,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
})

const toMessage = (row: MessageRow): StoredMessage => ({
  seq: row.seq,
  role: row.role,
  content: row.content,
  toolCalls: JSON.parse(row.tool_calls) as ToolCallRecord[],
  createdAt: row.created_at,
})

/** The user's next conversation number; the schema refuses any other. */
const NEXT_NUMBER = 'coalesce((SELECT last_number FROM chat_counts WHERE user_id = ?1), 0) + 1'

export type StartResult = { outcome: 'started'; number: number } | { outcome: 'over-limit' }

/**
 * A new conversation holding the user's first message, in one transaction: nothing is written when
 * the user already holds `maxConversations`. The message statement finds the conversation the first
 * one inserted as the user's newest with no message yet, which only a conversation created in this
 * same transaction can be.
 */
export async function startConversation(
  db: Db,
  userId: string,
  { title, message, now }: { title: string; message: string; now: string },
  maxConversations: number,
): Promise<StartResult> {
  const [conversation] = await d1(() =>
    db.batch<{ number: number }>([
      db
        .prepare(
          `INSERT INTO conversations (user_id, number, title, messages, created_at, updated_at)
           SELECT ?1, ${NEXT_NUMBER}, ?2, 0, ?3, ?3
           WHERE coalesce((SELECT conversations FROM chat_counts WHERE user_id = ?1), 0) < ?4
           RETURNING number`,
        )
        .bind(userId, title, now, maxConversations),
      db
        .prepare(
          `INSERT INTO chat_messages (user_id, conversation, seq, role, content, tool_calls, created_at)
           SELECT ?1, number, 1, 'user', ?2, '[]', ?3 FROM conversations
           WHERE user_id = ?1 AND number = (SELECT last_number FROM chat_counts WHERE user_id = ?1) AND messages = 0`,
        )
        .bind(userId, message, now),
    ]),
  )
  const row = conversation?.results[0]
  return row ? { outcome: 'started', number: row.number } : { outcome: 'over-limit' }
}

export type ContinueResult =
  /** The message is stored; `history` is what came before it, oldest first. */
  | { outcome: 'continued'; history: StoredMessage[] }
  | { outcome: 'not-found' }
  /** The conversation holds as many messages as allowed, less room for the answer; nothing was written. */
  | { outcome: 'full' }

/**
 * Stores the user's message in conversation `number` and reads the `historyLimit` messages before
 * it, in one round trip. The message goes in only while the conversation has room for it and for the
 * answer to it, so a turn is always stored whole.
 */
export async function continueConversation(
  db: Db,
  userId: string,
  number: number,
  { message, now }: { message: string; now: string },
  { maxMessages, historyLimit }: { maxMessages: number; historyLimit: number },
): Promise<ContinueResult> {
  const [inserted, conversation, history] = await d1(() =>
    db.batch<Record<string, unknown>>([
      db
        .prepare(
          `INSERT INTO chat_messages (user_id, conversation, seq, role, content, tool_calls, created_at)
           SELECT ?1, number, messages + 1, 'user', ?3, '[]', ?4 FROM conversations
           WHERE user_id = ?1 AND number = ?2 AND messages + 2 <= ?5
           RETURNING seq`,
        )
        .bind(userId, number, message, now, maxMessages),
      db.prepare('SELECT messages FROM conversations WHERE user_id = ?1 AND number = ?2').bind(userId, number),
      db
        .prepare(
          `SELECT ${MESSAGE_COLUMNS} FROM chat_messages
           WHERE user_id = ?1 AND conversation = ?2
             AND seq < (SELECT messages FROM conversations WHERE user_id = ?1 AND number = ?2)
           ORDER BY seq DESC LIMIT ?3`,
        )
        .bind(userId, number, historyLimit),
    ]),
  )
  if (!conversation?.results[0]) return { outcome: 'not-found' }
  if (!inserted?.results[0]) return { outcome: 'full' }
  return {
    outcome: 'continued',
    history: ((history?.results ?? []) as unknown as MessageRow[]).map(toMessage).reverse(),
  }
}

/**
 * Stores the assistant's answer and the turn's tool calls after the user's message. False when the
 * conversation was deleted while the turn ran: then there is nowhere to keep it.
 */
export async function storeAnswer(
  db: Db,
  userId: string,
  number: number,
  { content, toolCalls, now }: { content: string; toolCalls: string; now: string },
): Promise<boolean> {
  const row = await d1(() =>
    db
      .prepare(
        `INSERT INTO chat_messages (user_id, conversation, seq, role, content, tool_calls, created_at)
         SELECT ?1, number, messages + 1, 'assistant', ?3, ?4, ?5 FROM conversations
         WHERE user_id = ?1 AND number = ?2
         RETURNING seq`,
      )
      .bind(userId, number, content, toolCalls, now)
      .first(),
  )
  return row !== null
}

/** A page of the user's conversations, newest first, starting below `before` (all when undefined). */
export async function listConversations(
  db: Db,
  userId: string,
  before: number | undefined,
  limit: number,
): Promise<Conversation[]> {
  const { results } = await d1(() =>
    db
      .prepare(
        `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE user_id = ?1 AND number < ?2 ORDER BY number DESC LIMIT ?3`,
      )
      .bind(userId, before ?? Number.MAX_SAFE_INTEGER, limit)
      .all<ConversationRow>(),
  )
  return results.map(toConversation)
}

/** The user's conversation `number` with all its messages, oldest first; null when the user has none such. */
export async function getConversation(
  db: Db,
  userId: string,
  number: number,
): Promise<(Conversation & { items: StoredMessage[] }) | null> {
  const [conversation, messages] = await d1(() =>
    db.batch<Record<string, unknown>>([
      db
        .prepare(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE user_id = ?1 AND number = ?2`)
        .bind(userId, number),
      db
        .prepare(`SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE user_id = ?1 AND conversation = ?2 ORDER BY seq`)
        .bind(userId, number),
    ]),
  )
  const row = conversation?.results[0] as ConversationRow | undefined
  if (!row) return null
  return { ...toConversation(row), items: ((messages?.results ?? []) as unknown as MessageRow[]).map(toMessage) }
}

/** Deletes the user's conversation `number` and (its trigger) its messages; false when there is none. */
export async function deleteConversation(db: Db, userId: string, number: number): Promise<boolean> {
  const row = await d1(() =>
    db
      .prepare('DELETE FROM conversations WHERE user_id = ?1 AND number = ?2 RETURNING number')
      .bind(userId, number)
      .first(),
  )
  return row !== null
}

/**
 * For the export: the user's first conversation after `after` and its first `limit` messages, in one
 * round trip; null when there is none.
 */
export async function exportConversation(
  db: Db,
  userId: string,
  after: number,
  limit: number,
): Promise<{ conversation: Conversation; messages: StoredMessage[] } | null> {
  const next = '(SELECT min(number) FROM conversations WHERE user_id = ?1 AND number > ?2)'
  const [conversation, messages] = await d1(() =>
    db.batch<Record<string, unknown>>([
      db
        .prepare(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE user_id = ?1 AND number = ${next}`)
        .bind(userId, after),
      db
        .prepare(
          `SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE user_id = ?1 AND conversation = ${next} ORDER BY seq LIMIT ?3`,
        )
        .bind(userId, after, limit),
    ]),
  )
  const row = conversation?.results[0] as ConversationRow | undefined
  if (!row) return null
  return {
    conversation: toConversation(row),
    messages: ((messages?.results ?? []) as unknown as MessageRow[]).map(toMessage),
  }
}

/** For the export: messages of conversation `number` after `afterSeq`, at most `limit`. */
export async function exportMessages(
  db: Db,
  userId: string,
  number: number,
  afterSeq: number,
  limit: number,
): Promise<StoredMessage[]> {
  const { results } = await d1(() =>
    db
      .prepare(
        `SELECT ${MESSAGE_COLUMNS} FROM chat_messages WHERE user_id = ?1 AND conversation = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4`,
      )
      .bind(userId, number, afterSeq, limit)
      .all<MessageRow>(),
  )
  return results.map(toMessage)
}
