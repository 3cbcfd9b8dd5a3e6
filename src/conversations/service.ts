/**
 * Every operation on a user's conversations with the assistant, for the chat door (src/chat/,
 * src/compat/chat.ts) and the account's export: typed outcomes over src/conversations/repo.ts,
 * with the bounds of src/chat/bounds.ts. A service holds one verified user; every statement it
 * runs is scoped by that user.
 */
import type { Context } from 'hono'
import { CHAT_BOUNDS } from '../chat/bounds'
import type { Db } from '../db'
import type { AppEnv } from '../env'
import type { Conversation, StoredMessage } from './model'
import * as repo from './repo'

export type { Conversation, StoredMessage, ToolCallRecord } from './model'

export type Started =
  | { kind: 'ok'; number: number }
  /** The user holds CHAT_BOUNDS.conversationsPerUser conversations; nothing was written. */
  | { kind: 'limit' }

export type Continued =
  /** The message is stored; `history` is what came before it, oldest first. */
  | { kind: 'ok'; history: StoredMessage[] }
  | { kind: 'not-found' }
  /** No room for the message and its answer; nothing was written. */
  | { kind: 'full' }

export class ConversationService {
  constructor(
    private readonly db: Db,
    /** The verified token's `sub`: every statement is scoped by it. */
    readonly userId: string,
  ) {}

  /** A new conversation holding the user's first message. */
  async start(first: { title: string; message: string; now: string }): Promise<Started> {
    const result = await repo.startConversation(this.db, this.userId, first, CHAT_BOUNDS.conversationsPerUser)
    return result.outcome === 'started' ? { kind: 'ok', number: result.number } : { kind: 'limit' }
  }

  /** The user's next message in conversation `number`, and the history the model is sent with it. */
  async continue(number: number, next: { message: string; now: string }): Promise<Continued> {
    const result = await repo.continueConversation(this.db, this.userId, number, next, {
      maxMessages: CHAT_BOUNDS.messagesPerConversation,
      historyLimit: CHAT_BOUNDS.historyMessages,
    })
    switch (result.outcome) {
      case 'continued':
        return { kind: 'ok', history: result.history }
      case 'not-found':
      case 'full':
        return { kind: result.outcome }
      default:
        return result satisfies never
    }
  }

  /** The turn's answer and tool calls (JSON), after the user's message; false when the conversation is gone. */
  keepAnswer(number: number, answer: { content: string; toolCalls: string; now: string }): Promise<boolean> {
    return repo.storeAnswer(this.db, this.userId, number, answer)
  }

  /** A page of conversations, newest first, below `before`. */
  page(before: number | undefined, limit: number): Promise<Conversation[]> {
    return repo.listConversations(this.db, this.userId, before, limit)
  }

  /** Conversation `number` with its messages; null when the user has none such. */
  get(number: number) {
    return repo.getConversation(this.db, this.userId, number)
  }

  /** Deletes conversation `number` and its messages; false when the user has none such. */
  delete(number: number): Promise<boolean> {
    return repo.deleteConversation(this.db, this.userId, number)
  }

  /** For the export: the first conversation after `after`, with its first `limit` messages. */
  exportFrom(after: number, limit: number) {
    return repo.exportConversation(this.db, this.userId, after, limit)
  }

  /** For the export: conversation `number`'s messages after `afterSeq`. */
  exportMessages(number: number, afterSeq: number, limit: number) {
    return repo.exportMessages(this.db, this.userId, number, afterSeq, limit)
  }
}

/** The conversations of the request's verified user. */
export const conversationService = (c: Context<AppEnv>) => new ConversationService(c.get('db'), c.get('user').id)
