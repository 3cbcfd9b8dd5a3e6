/**
 * Every bound on chat: what one user may store, what one turn may cost, and what the model is sent.
 * The CHECKs in migrations/0013_conversations.sql state the stored lengths in SQL; test/chat/bounds.test.ts
 * keeps the two equal.
 */
export const CHAT_BOUNDS = {
  /** Conversations one user may hold; past it, starting one is a 409 (delete one first). */
  conversationsPerUser: 100,
  /** Messages (the user's and the assistant's) one conversation may hold; past it, a 409. */
  messagesPerConversation: 100,
  /** Characters in the user's message. */
  messageChars: 4000,
  /** Characters of the assistant's answer kept and returned; a longer one is cut. */
  answerChars: 8000,
  /** Characters of a turn's tool calls kept with its answer; results past it are not kept (src/chat/stored.ts). */
  storedToolCallsChars: 16_000,
  /** Characters of a conversation's title: the start of its first message. */
  titleChars: 80,
  /** The stored messages sent to the model with a new one: at most this many, the newest... */
  historyMessages: 20,
  /** ...and only as many as fit in this many characters. */
  historyChars: 24_000,
  /** Tool calls run from one model response; the model is told the others were not run. */
  toolCallsPerResponse: 8,
  /** Tool calls run in one turn, over all its model calls. */
  toolCallsPerTurn: 20,
  /** Characters of one tool call's arguments, as the model sends them (a JSON text). */
  argumentChars: 8000,
  /** Characters of one tool result sent back to the model; a longer one is replaced by a note. */
  toolResultChars: 16_000,
  /** Bytes of one model response read; past it the response is malformed (502). */
  modelResponseBytes: 1024 * 1024,
} as const
