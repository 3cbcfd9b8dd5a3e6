/**
 * The sync feed (GET /tasks/changes). Every write to a task takes the next number of its user's
 * change sequence, and every deletion leaves a tombstone with one (migrations/0004). A client
 * holds a token; the feed returns what changed after it, oldest first, and a token for what it
 * has now seen.
 *
 * A token is two positions. `after`: tasks written up to it have been delivered. `tombstonesAfter`
 * (never below `after`): deletions up to it cannot concern the client. A feed from the beginning
 * walks the live tasks, which may be old, while tombstones older than the walk's start are of
 * tasks the client never had; so its tokens keep `tombstonesAfter` at the start, and an old task
 * in the walk does not make the token look older than the purge horizon.
 *
 * The token's encoding is in sync-token.ts, the reads in sync-repo.ts.
 */
import type { Db } from '../db'
import { userPseudonym } from '../hash'
import { invalidRequest, syncTokenExpired } from '../problem'
import type { Task } from './model'
import { type ChangesRead, readChanges } from './sync-repo'
import { encodeToken, type SyncToken } from './sync-token'

export interface ChangesPage {
  /** Tasks created or changed, each in its current state. */
  tasks: Task[]
  /** Ids of tasks deleted. */
  deleted: string[]
  /** Send as `since` next time. */
  token: string
  /** More changes are waiting: ask again at once with the new token. */
  hasMore: boolean
}

/**
 * Tasks and tombstones interleave by sequence number; a page is the first `limit` of them, so that
 * its last number is a position both streams have been read up to.
 */
function assemble(read: ChangesRead, from: { after: number; tombstonesAfter: number }, limit: number) {
  const entries = [
    ...read.tasks.map(({ seq, task }) => ({ seq, task, id: task.id })),
    ...read.tombstones.map(({ seq, id }) => ({ seq, task: undefined, id })),
  ].sort((x, y) => x.seq - y.seq)
  const page = entries.slice(0, limit)
  const hasMore = entries.length > limit
  let next: { after: number; tombstonesAfter: number }
  if (hasMore) {
    const last = page[page.length - 1]!.seq
    next = { after: last, tombstonesAfter: Math.max(from.tombstonesAfter, last) }
  } else {
    // All caught up with this snapshot. A read replica behind the client's token must not move it back.
    const now = Math.max(read.seq, from.tombstonesAfter)
    next = { after: now, tombstonesAfter: now }
  }
  return {
    tasks: page.flatMap((e) => (e.task ? [e.task] : [])),
    deleted: page.flatMap((e) => (e.task ? [] : [e.id])),
    next,
    hasMore,
  }
}

/**
 * One page of the user's changes after `since`, or from the beginning without it: then every live
 * task, and no tombstones (the client has nothing to delete yet).
 */
export async function changesSince(
  db: Db,
  userId: string,
  since: SyncToken | undefined,
  limit: number,
): Promise<ChangesPage> {
  const user = await userPseudonym(userId)
  if (since && since.user !== user) {
    throw invalidRequest('Invalid query parameter(s): since.', [
      { parameter: 'since', detail: 'was issued to another user; resync without since' },
    ])
  }
  // One row more than the page from each stream says whether another page follows.
  const read = await readChanges(db, userId, {
    after: since?.after ?? 0,
    tombstonesAfter: since?.tombstonesAfter,
    limit: limit + 1,
  })
  // A tombstone after the token may have been purged: the client could keep a deleted task forever.
  // A token at 0 has seen nothing, so holds no task that could have been deleted. Any other token
  // for a user with no sequence (seq 0) is from an account since erased (DELETE /me).
  if (since && since.tombstonesAfter > 0 && (read.seq === 0 || read.horizon > since.tombstonesAfter)) {
    throw syncTokenExpired()
  }
  const from = since ?? { after: 0, tombstonesAfter: read.seq }
  const { tasks, deleted, next, hasMore } = assemble(read, from, limit)
  return { tasks, deleted, token: encodeToken({ ...next, user }), hasMore }
}
