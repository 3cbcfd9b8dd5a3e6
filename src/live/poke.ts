/**
 * The one call every write door makes, through the task service, after a write has committed: the
 * user's live sockets are told, in the background. A write's response never waits for it, and a
 * poke that fails is logged and never fails the write; the client still catches up on its next
 * connect or pull.
 */
import { logPokeFailure, userObject } from './object'

/**
 * Tells `userId`'s open sockets their tasks changed, without delaying the response (`waitUntil`);
 * `seq`, the change sequence number the write took, spares the object reading it from D1.
 */
export function pokeUser(env: Env, waitUntil: (promise: Promise<unknown>) => void, userId: string, seq?: number): void {
  waitUntil(poke(env, userId, seq))
}

/** The poke itself: resolves when it has been delivered or its failure logged; never rejects. */
export async function poke(env: Pick<Env, 'USER'>, userId: string, seq?: number): Promise<void> {
  try {
    await userObject(env, userId).poke(userId, seq)
  } catch (error) {
    await logPokeFailure(userId, error)
  }
}
