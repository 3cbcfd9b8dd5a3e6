/** The one wrapper every D1 statement runs in, and the type the repo takes. */

/** What the repo needs of D1: a plain binding or a session behave the same for it. */
export type Db = Pick<D1Database, 'prepare' | 'batch'>

/**
 * The failures D1 documents as passing (developers.cloudflare.com/d1/observability/debug-d1/):
 * the database restarting, overloaded or out of reach. D1 has no error codes, only these texts.
 */
const TRANSIENT = [
  'reset because its code was updated',
  'caused object to be reset',
  'Network connection lost',
  'Cannot resolve D1 DB due to transient issue',
  'client disconnected',
  'D1 DB is overloaded',
  'exceeded its memory limit and was reset',
  'exceeded its CPU time limit and was reset',
]

class DeadlineExceeded extends Error {}

/**
 * A D1 call failed. `transient` when retrying may succeed (503 with Retry-After); otherwise the
 * statement itself is at fault (a constraint, a syntax or type error), which the same request would
 * meet again forever: that is our bug, a 500. Request data never reaches D1 unvalidated, and the
 * validation mirrors every CHECK, so a constraint failure is one of those bugs too.
 */
export class DatabaseError extends Error {
  readonly transient: boolean

  constructor(cause: unknown) {
    super('database operation failed', { cause })
    const text = String(cause instanceof Error ? cause.message : cause)
    this.transient = cause instanceof DeadlineExceeded || TRANSIENT.some((part) => text.includes(part))
  }
}

/**
 * How long a request waits for one D1 round trip. Our statements take milliseconds; a round trip
 * still unanswered after this is a stuck connection, and the client is better served by a 503 with
 * Retry-After than by a request held open until the runtime gives up on it.
 */
export const D1_TIMEOUT_MS = 10_000

/** Runs one D1 round trip; any failure, synchronous or not, and no answer in time become a DatabaseError. */
export async function d1<T>(operation: () => Promise<T>, timeoutMs = D1_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(`D1 did not answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([operation(), deadline])
  } catch (error) {
    throw new DatabaseError(error)
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}
