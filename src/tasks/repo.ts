/**
 * The SQL for one task at a time: create, read, write, delete, and who owns an id. The user id is
 * always the first argument and `user_id = ?1` is in every WHERE that reads or writes a task, so no
 * statement can touch another user's row. Values are always bound; column names only ever come
 * from row.ts. Lists are in list-repo.ts, the sync feed in sync-repo.ts, the Idempotency-Key
 * create in src/idempotency/repo.ts.
 */
import { type Db, d1 } from '../db'
import { type Actor, changedBy } from '../events/model'
import { deletedEvents } from '../events/repo'
import type { Task, TaskFields } from './model'
import type { VersionCondition, Versions } from './preconditions'
import type { TaskInput, TaskPatch } from './requests'
import { COLUMN_OF, ruleOf, type TaskRow, toTask } from './row'

/**
 * The successor's number, read in the statement that reads (or RETURNs) the task: a primary-key seek,
 * and none without a successor. Every statement that selects COLUMNS binds the user as ?1.
 */
const NEXT_TASK_NUMBER =
  '(SELECT successor.number FROM tasks AS successor WHERE successor.user_id = ?1 AND successor.id = tasks.next_task_id) AS next_task_number'

/** The columns every statement that returns tasks selects. */
export const COLUMNS = Object.values(COLUMN_OF)
  .map((column) => (column === 'next_task_number' ? NEXT_TASK_NUMBER : column))
  .join(', ')

/**
 * Whether the user may have a socket open on GET /tasks/live (migrations/0015), read by every write
 * in its own statement: the task service pokes the user's Durable Object only then (src/live/), so a
 * write by a user nobody listens for costs no call to it. The user is ?1, as everywhere.
 */
export const LISTENING =
  "coalesce((SELECT live_until FROM task_counts WHERE user_id = ?1), 0) > unixepoch('subsec') * 1000 AS listening"

/**
 * What an INSERT or UPDATE of a task returns: COLUMNS, the change sequence number the write took
 * (migrations/0010: the user's newest, which the live poke passes on), and LISTENING.
 */
const WRITTEN = `${COLUMNS}, seq, ${LISTENING}`

/** The row a write returns (WRITTEN). */
export type WrittenRow = TaskRow & { seq: number; listening: 0 | 1 }

/**
 * A committed write's task, and whether its user may be listening for it (LISTENING); `seq`, the
 * user's change sequence number it took, where the statement can return it (not for a delete:
 * its tombstone's number is set by a trigger, which RETURNING does not see).
 */
export interface Committed<T = Task> {
  task: T
  listening: boolean
  seq?: number
}

/** The Committed of a row a write returned. */
export const committed = (row: WrittenRow): Committed => ({
  task: toTask(row),
  listening: row.listening === 1,
  seq: row.seq,
})

/** One more condition on an insert, over the user (?1) and its own parameters, which start at ?16. */
export interface InsertCondition {
  sql: string
  params: unknown[]
}

/** A task by its id (the main API) or by its per-user number (the /api routes, src/compat/). */
export type TaskRef = string | { number: number }

/** The WHERE term and bound value that pick `ref` among the user's tasks (always with `user_id = ?1`). */
export const pick = (ref: TaskRef, param: number): [string, string | number] =>
  typeof ref === 'string' ? [`id = ?${param}`, ref] : [`number = ?${param}`, ref.number]

/**
 * What an UPDATE sets `changed_by` to (migrations/0014): its actor, bound at `placeholder`, and the
 * version it writes, by which the event trigger tells this write's actor from an earlier write's.
 */
const changedByWrite = (placeholder: string) => `changed_by = json_set(${placeholder}, '$.version', version + 1)`

/** The user's next task number (migrations/0006_task_numbers.sql), for any INSERT of a task. */
export const NEXT_NUMBER = 'coalesce((SELECT last_number FROM task_counts WHERE user_id = ?1), 0) + 1'

/**
 * The user's next change sequence number (migrations/0010): every write sets it on the task row
 * itself, so the row is written once, and the triggers refuse any other number.
 */
export const NEXT_SEQ = `coalesce(nullif((SELECT seq FROM task_counts WHERE user_id = ?1), 0),
  CAST(unixepoch('subsec') * 1000000 AS INTEGER)) + 1`

/**
 * The one INSERT of a task: it inserts nothing once the user stores `quota` tasks, nor when `and`
 * (the Idempotency-Key's, src/idempotency/repo.ts) is false. The task's number is the user's next
 * one, taken in the same statement, so concurrent creates get distinct, consecutive numbers (the
 * schema refuses any other). Its event, by `actor`, is written by the insert's trigger (migrations/0014).
 */
export function insertStatement(
  db: Db,
  userId: string,
  id: string,
  input: TaskFields,
  now: string,
  actor: Actor,
  quota: number,
  and?: InsertCondition,
): D1PreparedStatement {
  const rule = ruleOf(input)
  return db
    .prepare(
      `INSERT INTO tasks (id, user_id, title, description, completed, priority, due_at, tags, created_at, updated_at,
                          completed_at, recurrence, time_zone, series_start, remind_at, number, seq, changed_by)
       SELECT ?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, CASE WHEN ?5 = 1 THEN ?9 END, ?11, ?12, ?13, ?14, ${NEXT_NUMBER}, ${NEXT_SEQ}, ?15
       WHERE coalesce((SELECT n FROM task_counts WHERE user_id = ?1), 0) < ?10${and ? ` AND ${and.sql}` : ''}
       RETURNING ${WRITTEN}`,
    )
    .bind(
      userId,
      id,
      input.title,
      input.description,
      input.completed ? 1 : 0,
      input.priority,
      input.dueAt,
      JSON.stringify(input.tags),
      now,
      quota,
      rule && JSON.stringify(rule),
      input.timeZone,
      // A new rule starts its series at the task's due date.
      rule && input.dueAt,
      input.remindAt,
      changedBy(actor),
      ...(and?.params ?? []),
    )
}

/**
 * Inserts the task unless the user already stores `quota` tasks; null when refused. The check and
 * the insert are one statement, so concurrent creates cannot overshoot the quota.
 */
export async function insertTask(
  db: Db,
  userId: string,
  input: TaskFields,
  now: string,
  actor: Actor,
  quota: number,
): Promise<Committed | null> {
  const row = await d1(() =>
    insertStatement(db, userId, crypto.randomUUID(), input, now, actor, quota).first<WrittenRow>(),
  )
  return row && committed(row)
}

/** The user's task `ref`: by id through the primary key, by number through (user_id, number). */
export async function getTask(db: Db, userId: string, ref: TaskRef): Promise<Task | null> {
  const [term, value] = pick(ref, 2)
  const row = await d1(() =>
    db.prepare(`SELECT ${COLUMNS} FROM tasks WHERE user_id = ?1 AND ${term}`).bind(userId, value).first<TaskRow>(),
  )
  return row && toTask(row)
}

// Allow-list of the fields a write may set; their columns come from COLUMN_OF.
const WRITABLE = [
  'title',
  'description',
  'completed',
  'priority',
  'dueAt',
  'tags',
  'recurrence',
  'timeZone',
  'remindAt',
] as const satisfies readonly (keyof TaskFields)[]

const columnValue = (field: (typeof WRITABLE)[number], value: unknown) => {
  if (field === 'tags' || field === 'recurrence') return value === null ? null : JSON.stringify(value)
  if (field === 'completed') return value ? 1 : 0
  return value
}

/**
 * The WHERE terms that make a write conditional. They sit in the write's own statement, so between
 * the check and the write no other writer can slip in: of concurrent writers holding the same
 * version, exactly one matches. Versions are bound as one JSON array, however many there are.
 */
export function conditionTerms(condition: VersionCondition, params: unknown[]): string[] {
  const terms: string[] = []
  const among = (versions: Exclude<Versions, '*'>) => {
    params.push(JSON.stringify(versions))
    return `version IN (SELECT value FROM json_each(?${params.length}))`
  }
  if (condition.match !== undefined && condition.match !== '*') terms.push(among(condition.match))
  // If-None-Match: * on a write means "only if it does not exist", which no task here satisfies.
  if (condition.noneMatch === '*') terms.push('0')
  else if (condition.noneMatch !== undefined) terms.push(`NOT ${among(condition.noneMatch)}`)
  return terms
}

/** What a write sets and requires besides the fields it was given (write-repo.ts). */
export interface WriteExtras {
  /** Columns not in the API: the series start. */
  sets?: { series_start: string | null }
  /** Only while the task has no rule: a write that could move a series is planned otherwise. */
  onlyWithoutRule?: boolean
  /**
   * The successor this write's batch inserts first: linked as next_task_id, and the write refused
   * when it is missing (over the quota), unless the task already has one.
   */
  successorId?: string
}

/**
 * The one UPDATE of a task: the given fields (PATCH) or all of them (PUT), and the version bumped,
 * returning the task; it matches nothing when no task of the user's with this id meets the condition.
 * Its event, by `actor`, is written by the update's trigger (migrations/0014).
 */
export function updateStatement(
  db: Db,
  userId: string,
  ref: TaskRef,
  changes: TaskPatch | TaskInput,
  now: string,
  actor: Actor,
  condition: VersionCondition = {},
  extras: WriteExtras = {},
): D1PreparedStatement {
  const [term, value] = pick(ref, 2)
  const params: unknown[] = [userId, value, now]
  const bind = (value: unknown) => `?${params.push(value)}`
  const sets = ['updated_at = ?3', 'version = version + 1', `seq = ${NEXT_SEQ}`, changedByWrite(bind(changedBy(actor)))]
  for (const field of WRITABLE) {
    const value = changes[field]
    if (value === undefined) continue
    const placeholder = bind(columnValue(field, value))
    sets.push(`${COLUMN_OF[field]} = ${placeholder}`)
    if (field === 'completed') {
      // Completing keeps the first completion time; reopening clears it.
      sets.push(`completed_at = CASE WHEN ${placeholder} = 1 THEN COALESCE(completed_at, ?3) END`)
    }
  }
  if (extras.sets) sets.push(`series_start = ${bind(extras.sets.series_start)}`)
  const where = ['user_id = ?1', term, ...conditionTerms(condition, params)]
  if (extras.onlyWithoutRule) where.push('recurrence IS NULL')
  if (extras.successorId !== undefined) {
    const successor = bind(extras.successorId)
    const exists = `EXISTS (SELECT 1 FROM tasks WHERE user_id = ?1 AND id = ${successor})`
    sets.push(`next_task_id = CASE WHEN next_task_id IS NULL AND ${exists} THEN ${successor} ELSE next_task_id END`)
    where.push(`(next_task_id IS NOT NULL OR ${exists})`)
  }
  return db
    .prepare(`UPDATE tasks SET ${sets.join(', ')} WHERE ${where.join(' AND ')} RETURNING ${WRITTEN}`)
    .bind(...params)
}

/**
 * Flips the user's task `ref` between open and completed as a PATCH of `completed` sets it
 * (completed_at, version, sync), in one statement, so that two concurrent toggles flip it twice.
 * Only a task without a rule: completing a recurring one is a series write (write-repo.ts).
 */
export function toggleStatement(
  db: Db,
  userId: string,
  ref: TaskRef,
  now: string,
  actor: Actor,
  condition: VersionCondition = {},
): D1PreparedStatement {
  const [term, value] = pick(ref, 2)
  const params: unknown[] = [userId, value, now, changedBy(actor)]
  const where = ['user_id = ?1', term, 'recurrence IS NULL', ...conditionTerms(condition, params)]
  // Every SET expression sees the row as it was: `completed = 0` is "was open".
  return db
    .prepare(
      `UPDATE tasks SET completed = 1 - completed, completed_at = CASE WHEN completed = 0 THEN ?3 END,
                        updated_at = ?3, version = version + 1, seq = ${NEXT_SEQ}, ${changedByWrite('?4')}
       WHERE ${where.join(' AND ')} RETURNING ${WRITTEN}`,
    )
    .bind(...params)
}

/**
 * What keeps the user's tombstones within `cap`, run in the same transaction as every delete: when
 * the deletes' triggers took the user past it, the horizon rises to the newest tombstone of the
 * excess, and every tombstone at or below the horizon goes. A sync token from before that horizon
 * then gets its 410, exactly as after the scheduled purge. Served by the tombstones' primary key:
 * the excess is read, not the tombstones kept.
 */
function trimTombstones(db: Db, userId: string, cap: number): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `UPDATE task_counts SET horizon = max(horizon,
           (SELECT seq FROM task_tombstones WHERE user_id = ?1 ORDER BY seq
            LIMIT 1 OFFSET (SELECT tombstones FROM task_counts WHERE user_id = ?1) - ?2 - 1))
         WHERE user_id = ?1 AND (SELECT tombstones FROM task_counts WHERE user_id = ?1) > ?2`,
      )
      .bind(userId, cap),
    db
      .prepare(
        'DELETE FROM task_tombstones WHERE user_id = ?1 AND seq <= (SELECT horizon FROM task_counts WHERE user_id = ?1)',
      )
      .bind(userId),
  ]
}

/** What a delete tells of the task it deleted. */
export type DeletedTask = { id: string; number: number; title: string }

/**
 * The id, number and title of the user's task `ref` that is now gone; null when no task of the user's with
 * this ref meets the condition. Its event (by `actor` at `now`) is written just before it, and its
 * tombstone counts against `tombstoneCap`, in the same transaction.
 */
export async function deleteTask(
  db: Db,
  userId: string,
  ref: TaskRef,
  now: string,
  actor: Actor,
  tombstoneCap: number,
  condition: VersionCondition = {},
): Promise<Committed<DeletedTask> | null> {
  const [term, value] = pick(ref, 2)
  const params: unknown[] = [userId, value]
  const where = ['user_id = ?1', term, ...conditionTerms(condition, params)].join(' AND ')
  const [, deleted] = await d1(() =>
    db.batch([
      deletedEvents(db, where, params, now, actor),
      db.prepare(`DELETE FROM tasks WHERE ${where} RETURNING id, number, title, ${LISTENING}`).bind(...params),
      ...trimTombstones(db, userId, tombstoneCap),
    ]),
  )
  const row = deleted!.results[0] as (DeletedTask & { listening: 0 | 1 }) | undefined
  return row ? { task: { id: row.id, number: row.number, title: row.title }, listening: row.listening === 1 } : null
}

/**
 * Deletes all of the user's completed tasks, in one transaction with the count of what it deletes
 * (D1's `changes` would also count the rows the tombstone triggers write), their events (by `actor`
 * at `now`) and the trim of the tombstones to `tombstoneCap`.
 */
export async function deleteCompletedTasks(
  db: Db,
  userId: string,
  now: string,
  actor: Actor,
  tombstoneCap: number,
): Promise<{ deleted: number; listening: boolean }> {
  const completed = 'user_id = ?1 AND completed = 1'
  const [counted] = await d1(() =>
    db.batch([
      db.prepare(`SELECT count(*) AS n, ${LISTENING} FROM tasks WHERE ${completed}`).bind(userId),
      deletedEvents(db, completed, [userId], now, actor),
      db.prepare(`DELETE FROM tasks WHERE ${completed}`).bind(userId),
      ...trimTombstones(db, userId, tombstoneCap),
    ]),
  )
  const { n, listening } = counted!.results[0] as { n: number; listening: 0 | 1 }
  return { deleted: n, listening: listening === 1 }
}

/**
 * Who has a task with this id: the caller ('mine'), someone else ('other'), or no one (null). The
 * one statement not scoped by user: it returns nothing but that, and runs only after a scoped
 * statement matched nothing, to tell 412 (the caller's task, at another version) from 403 from 404.
 */
export async function taskOwner(db: Db, userId: string, id: string): Promise<'mine' | 'other' | null> {
  const row = await d1(() =>
    db.prepare('SELECT user_id = ?1 AS mine FROM tasks WHERE id = ?2').bind(userId, id).first<{ mine: 0 | 1 }>(),
  )
  return row && (row.mine ? 'mine' : 'other')
}
