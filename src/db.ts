/** The one wrapper every D1 statement runs in, and the type the repo takes. */

/** What the repo needs of D1: a plain binding or a session behave the same for it. */
export type Db = Pick<D1Database, 'prepare' | 'batch'>

/** A D1 call failed (unavailable, timed out, rejected a statement): rendered as 503, never as a 500. */
export class DatabaseError extends Error {
  constructor(cause: unknown) {
    super('database operation failed', { cause })
  }
}

/**
 * How long a request waits for one D1 round trip. Our statements take milliseconds; a round trip
 * still unanswered after this is a stuck connection, and the client is better served by a 503 with
 * Retry-After than by a request held open until the runtime gives up on it.
 */
const D1_TIMEOUT_MS = 10_000

/** Runs one D1 round trip; any failure, synchronous or not, and no answer in time become a DatabaseError. */
export async function d1<T>(operation: () => Promise<T>, timeoutMs = D1_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`D1 did not answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([operation(), deadline])
  } catch (error) {
    throw new DatabaseError(error)
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}
