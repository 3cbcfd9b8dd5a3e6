/**
 * Opaque keyset cursor: the (createdAt, id) of the first task of the next page, plus the filter it
 * was made for. Keyset (not offset) pagination stays correct while tasks are added or deleted
 * between pages. The position is inclusive, not the last task already shown: SQLite seeks a row-value
 * range to its first column and steps over rows equal to it, so an exclusive position would cost
 * every page one more row read than it returns. It is not signed: every query is scoped by the caller, so a forged cursor can only move
 * within the caller's own tasks.
 */
import { decodeOpaque, encodeOpaque } from '../opaque'
import { isTaskId } from './id'

export interface Cursor {
  createdAt: string
  id: string
}

export interface ListFilter {
  completed?: boolean
}

export const filterKey = (filter: ListFilter): string => `completed=${filter.completed ?? ''}`

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

export function encodeCursor(position: Cursor, key: string): string {
  return encodeOpaque({ c: position.createdAt, i: position.id, f: key })
}

/** The position, or why the cursor is refused. */
export function decodeCursor(raw: string, key: string): Cursor | string {
  const { c, i, f } = decodeOpaque(raw) ?? {}
  if (typeof c !== 'string' || !ISO_INSTANT.test(c) || typeof i !== 'string' || !isTaskId(i)) {
    return 'is not a valid cursor'
  }
  if (f !== key) return 'was made for different filters; start again without a cursor'
  return { createdAt: c, id: i }
}
