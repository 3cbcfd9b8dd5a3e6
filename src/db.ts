/** The one wrapper every D1 statement runs in, and the type the repo takes. */

/** What the repo needs of D1: a plain binding or a session behave the same for it. */
export type Db = Pick<D1Database, 'prepare' | 'batch'>

/** A D1 call failed (unavailable, timed out, rejected a statement): rendered as 503, never as a 500. */
export class DatabaseError extends Error {
  constructor(cause: unknown) {
    super('database operation failed', { cause })
  }
}

/** Runs one D1 round trip; any failure, synchronous or not, becomes a DatabaseError. */
export async function d1<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    throw new DatabaseError(error)
  }
}
