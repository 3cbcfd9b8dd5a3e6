/** The problem each refused task operation answers with on the HTTP doors (the REST API and /api). */
import {
  forbidden,
  idempotencyKeyReused,
  idempotencyKeysExhausted,
  notFound,
  type Problem,
  preconditionFailed,
  quotaExceeded,
  writeConflict,
} from '../problem'
import type { Created, Deleted, Read, Written } from './service'

export type Refusal = Exclude<Created | Read | Written | Deleted, { kind: 'ok' }>

/** Why a task could not be read (Read's refusals): a task's own routes and its event history say it alike. */
export const missProblem = (miss: Exclude<Read, { kind: 'ok' }>): Problem =>
  miss.kind === 'not-found' ? notFound('No task has this id.') : forbidden('This task belongs to another user.')

/**
 * `refused` as a problem to throw. `needsDueDate` words the one refusal whose field names differ
 * between the doors (dueAt, due_date).
 */
export function problemOf(refused: Refusal, needsDueDate: (field: 'dueAt' | 'recurrence') => Problem): Problem {
  switch (refused.kind) {
    case 'not-found':
    case 'forbidden':
      return missProblem(refused)
    case 'precondition-failed':
      return preconditionFailed()
    case 'conflict':
      return writeConflict()
    case 'quota':
      return quotaExceeded(refused.quota)
    case 'needs-due-date':
      return needsDueDate(refused.field)
    case 'key-reused':
      return idempotencyKeyReused()
    case 'key-budget':
      return idempotencyKeysExhausted(refused.budget, refused.retryAfterSeconds)
    default:
      return refused satisfies never
  }
}
