/**
 * Idempotency-Key for POST /tasks: what a valid key is, how long a record is honoured, and the
 * fingerprint that tells a retry from a different request sent with the same key.
 */
import * as z from 'zod'
import { sha256Hex } from '../hash'
import type { TaskInput } from '../tasks/requests'

export const IDEMPOTENCY_HEADER = 'idempotency-key'

/** A record older than this is ignored by requests, and deleted by the scheduled purge. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000

/** Records created at or before this instant are expired at `now` (both ISO strings, so they compare as text). */
export const idempotencyCutoff = (now: string): string =>
  new Date(Date.parse(now) - IDEMPOTENCY_WINDOW_MS).toISOString()

// Printable ASCII, space included; fetch has already trimmed leading and trailing whitespace.
const KEY = /^[\x20-\x7e]{1,255}$/

/** The headers POST /tasks reads; hono hands them over with lower-case names. Others pass through. */
export const idempotencyHeaders = z.object({
  [IDEMPOTENCY_HEADER]: z.string().regex(KEY, 'must be 1 to 255 printable ASCII characters').optional().meta({
    description: 'Makes the create safe to retry: a retry with the same key and body gets the first response again.',
  }),
})

/**
 * SHA-256 (hex) of the validated body, not of its bytes: whitespace, key order, trimmed titles
 * and defaults written out make no difference, since they make no difference to the task created.
 * The fields go into a fixed-order array so the fingerprint never depends on object key order.
 */
export async function requestFingerprint(input: TaskInput): Promise<string> {
  const canonical = JSON.stringify([
    'POST /tasks v1',
    input.title,
    input.description,
    input.completed,
    input.priority,
    input.dueAt,
    input.tags,
  ])
  return sha256Hex(canonical)
}
