/** A conversation with the assistant, and its messages, as the service hands them to the chat door. */

/** One tool call of a turn, as stored and answered: what ran, with what, and what it gave. */
export interface ToolCallRecord {
  name: string
  arguments: unknown
  result: unknown
}

export interface StoredMessage {
  seq: number
  role: 'user' | 'assistant'
  content: string
  toolCalls: ToolCallRecord[]
  createdAt: string
}

export interface Conversation {
  number: number
  title: string
  /** How many messages it holds. */
  messages: number
  createdAt: string
  updatedAt: string
}
