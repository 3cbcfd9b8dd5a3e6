/** Chat's problems (their types are in src/problem.ts's catalogue), and a model fault as the one it answers with. */
import { Problem } from '../problem'
import { CHAT_BOUNDS } from './bounds'
import type { ModelFault } from './model'

export const chatDisabled = () =>
  new Problem(
    'chat-disabled',
    'Chat is off on this server: set CHAT_API_BASE_URL and CHAT_MODEL (and the CHAT_API_KEY secret for a hosted model) to turn it on; see docs/chat.md.',
  )

export const conversationLimit = () =>
  new Problem(
    'conversation-limit',
    `A user may hold at most ${CHAT_BOUNDS.conversationsPerUser} conversations; delete one first.`,
  )

export const conversationFull = () =>
  new Problem(
    'conversation-full',
    `A conversation holds at most ${CHAT_BOUNDS.messagesPerConversation} messages; start a new one.`,
  )

/** What the conversation keeps in place of the answer a failed turn did not get. */
export function faultNote(fault: ModelFault): string {
  switch (fault.kind) {
    case 'timeout':
      return '(No answer: the model did not answer in time.)'
    case 'busy':
      return '(No answer: the model was busy.)'
    case 'unreachable':
      return '(No answer: the model could not be reached.)'
    case 'refused':
    case 'malformed':
      return '(No answer: the model failed.)'
    default:
      return fault.kind satisfies never
  }
}

/**
 * The problem a failed model call answers with, carrying `extensions` (the conversation and the
 * tool calls already run). Nothing of what the model sent, and nothing of the key, is in it.
 */
export function faultProblem(fault: ModelFault, timeoutSeconds: number, extensions: Record<string, unknown>): Problem {
  switch (fault.kind) {
    case 'timeout':
      return new Problem(
        'model-timeout',
        `The assistant's model did not answer within ${timeoutSeconds} seconds. What was done before is kept; try again.`,
        undefined,
        {},
        extensions,
      )
    case 'busy': {
      const retry = fault.retryAfterSeconds
      return new Problem(
        'model-busy',
        `The assistant's model is busy${retry === undefined ? '' : `; try again in ${retry} seconds`}. What was done before is kept.`,
        undefined,
        retry === undefined ? {} : { 'Retry-After': String(retry) },
        extensions,
      )
    }
    case 'unreachable':
      return new Problem(
        'model-failed',
        "The assistant's model could not be reached. What was done before is kept; try again shortly.",
        undefined,
        {},
        extensions,
      )
    case 'refused':
      return new Problem(
        'model-failed',
        `The assistant's model refused the call (status ${fault.status}). What was done before is kept.`,
        undefined,
        {},
        extensions,
      )
    case 'malformed':
      return new Problem(
        'model-failed',
        "The assistant's model gave an answer this server cannot read. What was done before is kept.",
        undefined,
        {},
        extensions,
      )
    default:
      return fault.kind satisfies never
  }
}
