/**
 * The SQL of PUT and PATCH. A plain write is one UPDATE. A write that could move a recurring series
 * (completing it, or changing its rule, zone or due date) is planned from the task as stored and
 * made in one batch with its successor's insert, so that completing a task creates its successor
 * exactly once: the insert requires the task unchanged since it was read and still without a
 * successor, and the update links the successor in the same transaction, or is refused without it.
 */
import { type Db, d1 } from '../db'
import { type Actor, changedBy, systemActor } from '../events/model'
import { type SeriesFields, seriesStartAfter, successorOf, withDefaultWeekdays } from '../recurrence/successor'
import type { Task } from './model'
import { satisfies, type VersionCondition } from './preconditions'
import {
  COLUMNS,
  type Committed,
  committed,
  conditionTerms,
  NEXT_NUMBER,
  NEXT_SEQ,
  pick,
  type TaskRef,
  toggleStatement,
  updateStatement,
  type WriteExtras,
  type WrittenRow,
} from './repo'
import type { TaskInput, TaskPatch } from './requests'
import { type TaskRow, toTask } from './row'

export type WriteResult =
  /** `listening`: the user may have a live socket to tell (repo.ts LISTENING). */
  | ({ outcome: 'written' } & Committed)
  /** No task of the user's with this id meets the condition; nothing was written. */
  | { outcome: 'no-match' }
  /** The completion's successor would take the user past `quota`; nothing was written. */
  | { outcome: 'over-quota' }
  /** The write would leave a rule without a due date; nothing was written. */
  | { outcome: 'needs-due-date'; field: 'dueAt' | 'recurrence' }
  /** Other writes changed the task between every read and write tried; nothing was written. */
  | { outcome: 'raced' }

/** A task as stored, with the column a series write plans from. */
export type Stored = TaskRow & { series_start: string | null }

// A concurrent write between the read and the batch sends the write round again, this often at most.
export const ATTEMPTS = 3

const readStored = (db: Db, userId: string, ref: TaskRef) => {
  const [term, value] = pick(ref, 2)
  return db.prepare(`SELECT ${COLUMNS}, series_start FROM tasks WHERE user_id = ?1 AND ${term}`).bind(userId, value)
}

/** The user's task `ref` as stored, for a write that must be planned from it (storedTask's row, writeStored). */
export const readStoredTask = (db: Db, userId: string, ref: TaskRef): Promise<Stored | null> =>
  d1(() => readStored(db, userId, ref).first<Stored>())

/**
 * Writes the changes to the user's task `ref` at `now`, by `actor`, creating a recurring task's successor
 * (by the server itself) if it completes it.
 */
export async function writeTask(
  db: Db,
  userId: string,
  ref: TaskRef,
  changes: TaskPatch | TaskInput,
  now: string,
  actor: Actor,
  condition: VersionCondition,
  quota: number,
): Promise<WriteResult> {
  let stored: Stored | null = null
  if (changes.recurrence === undefined || changes.recurrence === null) {
    // One round trip for every write that cannot move a series: it is made here unless the task
    // has a rule, in which case the row read alongside plans the series write below.
    const endsSeries = changes.recurrence === null
    const couldMove =
      !endsSeries && (changes.completed === true || changes.dueAt !== undefined || changes.timeZone !== undefined)
    const extras: WriteExtras = { ...(endsSeries && { sets: { series_start: null } }), onlyWithoutRule: couldMove }
    const [before, updated] = await d1(() =>
      db.batch([readStored(db, userId, ref), updateStatement(db, userId, ref, changes, now, actor, condition, extras)]),
    )
    const row = updated!.results[0] as WrittenRow | undefined
    if (row) return { outcome: 'written', ...committed(row) }
    stored = (before!.results[0] as Stored | undefined) ?? null
    if (stored === null || stored.recurrence === null || !couldMove) return { outcome: 'no-match' }
  }
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    stored ??= await readStoredTask(db, userId, ref)
    if (stored === null) return { outcome: 'no-match' }
    const result = await writeStored(db, userId, stored, changes, now, actor, condition, quota)
    if (result !== 'raced') return result
    stored = null
  }
  return { outcome: 'raced' }
}

/**
 * Flips the user's task `ref` between open and completed, as the PATCH of `completed` it stands for:
 * one statement for a task without a rule. A recurring task is written as that PATCH from the row
 * the same batch read, at its version, so that completing it creates its successor exactly once, in
 * a second round trip; a concurrent write sends it round again with the row as it then is.
 */
export async function toggleTask(
  db: Db,
  userId: string,
  ref: TaskRef,
  now: string,
  actor: Actor,
  condition: VersionCondition,
  quota: number,
): Promise<WriteResult> {
  const [before, toggled] = await d1(() =>
    db.batch([readStored(db, userId, ref), toggleStatement(db, userId, ref, now, actor, condition)]),
  )
  const row = toggled!.results[0] as WrittenRow | undefined
  if (row) return { outcome: 'written', ...committed(row) }
  let stored = (before!.results[0] as Stored | undefined) ?? null
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    // Gone, or the client's condition names another version: the statement's own refusal stands.
    if (stored === null || !satisfies(condition, stored.version)) return { outcome: 'no-match' }
    const flip = { completed: stored.completed === 0 }
    const result = await writeStored(db, userId, stored, flip, now, actor, { match: [stored.version] }, quota)
    if (result !== 'raced') return result
    stored = await readStoredTask(db, userId, ref)
  }
  return { outcome: 'raced' }
}

/**
 * One attempt at a write planned from `stored` (which may move a series): one round trip. 'raced'
 * when the task changed since it was read, so that the caller reads it again and retries.
 */
export async function writeStored(
  db: Db,
  userId: string,
  stored: Stored,
  changes: TaskPatch | TaskInput,
  now: string,
  actor: Actor,
  condition: VersionCondition,
  quota: number,
): Promise<WriteResult | 'raced'> {
  const before = toTask(stored)
  const given = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined))
  const merged = { ...before, ...given } as Task
  if (merged.recurrence !== null && merged.dueAt === null) {
    return { outcome: 'needs-due-date', field: changes.dueAt === null ? 'dueAt' : 'recurrence' }
  }
  const recurrence =
    changes.recurrence && merged.dueAt !== null
      ? withDefaultWeekdays(changes.recurrence, merged.dueAt, merged.timeZone)
      : merged.recurrence
  const seriesStart = seriesStartAfter(
    { recurrence: before.recurrence, timeZone: before.timeZone, seriesStart: stored.series_start },
    { recurrence, timeZone: merged.timeZone, dueAt: merged.dueAt },
  )
  const series: SeriesFields = { ...merged, recurrence, seriesStart }
  // A task completed before it had a rule counts from its completion; one completed now, from now.
  const next = merged.completed && before.nextTaskId === null ? successorOf(series, before.completedAt ?? now) : null
  const successorId = next ? crypto.randomUUID() : undefined

  const statements: D1PreparedStatement[] = []
  if (next && successorId) {
    const params: unknown[] = [userId, stored.id, stored.version, successorId, quota]
    const unchanged = conditionTerms(condition, params).map((term) => ` AND ${term}`)
    const bind = (value: unknown) => `?${params.push(value)}`
    const values = [
      merged.title,
      merged.description,
      merged.priority,
      next.dueAt,
      JSON.stringify(merged.tags),
      now,
      now,
      JSON.stringify(recurrence),
      merged.timeZone,
      seriesStart,
      next.remindAt,
      changedBy(systemActor(actor)),
    ].map(bind)
    statements.push(
      db
        .prepare(
          `INSERT INTO tasks (id, user_id, title, description, priority, due_at, tags, created_at, updated_at,
                              recurrence, time_zone, series_start, remind_at, changed_by, number, seq)
           SELECT ?4, ?1, ${values.join(', ')}, ${NEXT_NUMBER}, ${NEXT_SEQ}
           WHERE coalesce((SELECT n FROM task_counts WHERE user_id = ?1), 0) < ?5
             AND EXISTS (SELECT 1 FROM tasks WHERE user_id = ?1 AND id = ?2 AND version = ?3
                         AND next_task_id IS NULL${unchanged.join('')})`,
        )
        .bind(...params),
    )
  }
  const write = { ...changes, ...(changes.recurrence !== undefined && { recurrence }) }
  statements.push(
    updateStatement(db, userId, stored.id, write, now, actor, condition, {
      ...(seriesStart !== stored.series_start && { sets: { series_start: seriesStart } }),
      ...(successorId !== undefined && { successorId }),
    }),
    db
      .prepare(
        `SELECT version, next_task_id, (SELECT n FROM task_counts WHERE user_id = ?1) AS n
         FROM tasks WHERE user_id = ?1 AND id = ?2`,
      )
      .bind(userId, stored.id),
  )
  const results = await d1(() => db.batch(statements))
  const row = results.at(-2)!.results[0] as WrittenRow | undefined
  if (row) return { outcome: 'written', ...committed(row) }
  const after = results.at(-1)!.results[0] as { version: number; next_task_id: string | null; n: number } | undefined
  if (!after) return { outcome: 'no-match' }
  if (after.version !== stored.version) return 'raced'
  if (!next) return { outcome: 'no-match' }
  return after.next_task_id === null && after.n >= quota ? { outcome: 'over-quota' } : { outcome: 'no-match' }
}
