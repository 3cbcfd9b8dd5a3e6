/**
 * Chat's answers as each door spells them: the main API in camelCase, /api (the FastAPI contract)
 * in snake_case. The content is the same; only the names differ.
 */
import type { Conversation, StoredMessage, ToolCallRecord } from '../conversations/service'

export interface Wire {
  /** A turn's answer. */
  reply(number: number, response: string, toolCalls: ToolCallRecord[]): Record<string, unknown>
  /** What a failed turn's problem carries besides the standard members. */
  fault(number: number, toolCalls: ToolCallRecord[]): Record<string, unknown>
  summary(conversation: Conversation): Record<string, unknown>
  detail(conversation: Conversation, messages: StoredMessage[]): Record<string, unknown>
  page(conversations: Conversation[], nextCursor: string | null): Record<string, unknown>
}

export const mainWire: Wire = {
  reply: (number, response, toolCalls) => ({ conversationId: number, response, toolCalls }),
  fault: (number, toolCalls) => ({ conversationId: number, toolCalls }),
  summary: (c) => ({
    id: c.number,
    title: c.title,
    messageCount: c.messages,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  }),
  detail: (c, messages) => ({
    ...mainWire.summary(c),
    messages: messages.map((m) => ({
      role: m.role,
      content: m.content,
      toolCalls: m.toolCalls,
      createdAt: m.createdAt,
    })),
  }),
  page: (conversations, nextCursor) => ({ items: conversations.map(mainWire.summary), nextCursor }),
}

export const apiWire: Wire = {
  reply: (number, response, toolCalls) => ({ conversation_id: number, response, tool_calls: toolCalls }),
  fault: (number, toolCalls) => ({ conversation_id: number, tool_calls: toolCalls }),
  summary: (c) => ({
    id: c.number,
    title: c.title,
    message_count: c.messages,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  }),
  detail: (c, messages) => ({
    ...apiWire.summary(c),
    messages: messages.map((m) => ({
      role: m.role,
      content: m.content,
      tool_calls: m.toolCalls,
      created_at: m.createdAt,
    })),
  }),
  page: (conversations, nextCursor) => ({ items: conversations.map(apiWire.summary), next_cursor: nextCursor }),
}
