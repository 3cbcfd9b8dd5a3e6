/**
 * Opaque keyset cursor: the sort value and id of the first task of the next page, plus a digest of
 * the sort and filters it was made for. Keyset (not offset) pagination stays correct while tasks
 * are added or deleted between pages. The position is inclusive, not the last task already shown:
 * the previous page read that task as its peek at a next page, and the next page starts on it, so
 * every page reads its own rows plus one. It is not signed: every query is scoped by the caller,
 * so a forged cursor can only move within the caller's own tasks.
 */
import { decodeOpaque, encodeOpaque } from '../opaque'
import { isTaskId } from './id'

export interface Cursor {
  /**
   * The next page's first task's place in the sort: its number (createdAt) or sequence number
   * (updatedAt), or its value of the sorted field (a string, or null for no due date).
   */
  value: string | number | null
  id: string
}

const encoder = new TextEncoder()

/**
 * 64 bits of what a cursor was made for (two FNV-1a lanes with a murmur3 finish). It only tells one
 * listing from another; it is not a MAC, and need not be: a cursor that passed it under other
 * parameters would still only move within the caller's own tasks.
 */
function digest(text: string): string {
  let a = 0x811c9dc5
  let b = 0x01000193
  for (const byte of encoder.encode(text)) {
    a = Math.imul(a ^ byte, 0x01000193)
    b = Math.imul(b ^ byte, 0x5bd1e995)
  }
  const finish = (h: number) => {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
    return ((h ^ (h >>> 16)) >>> 0).toString(36)
  }
  return `${finish(a)}.${finish(b)}`
}

/** `listing` is the canonical text of the sort and filters; the cursor is valid only under the same one. */
export function encodeCursor(position: Cursor, listing: string): string {
  return encodeOpaque({ v: position.value, i: position.id, k: digest(listing) })
}

/**
 * The position, or why the cursor is refused. The value is only known to be a string, number or
 * null here; what it must look like depends on the sort, which the caller checks.
 */
export function decodeCursor(raw: string, listing: string): Cursor | string {
  const { v, i, k } = decodeOpaque(raw) ?? {}
  if (!(typeof v === 'string' || typeof v === 'number' || v === null) || typeof i !== 'string' || !isTaskId(i)) {
    return 'is not a valid cursor'
  }
  if (k !== digest(listing)) return 'was made for a different sort or filters; start again without a cursor'
  return { value: v, id: i }
}
