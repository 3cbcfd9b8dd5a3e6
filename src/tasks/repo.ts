/**
 * Every SQL statement for tasks. The user id is always the first argument and `user_id = ?1` is
 * in every WHERE that reads or writes a task, so no statement can touch another user's row.
 * Values are always bound; column names only ever come from the constants below.
 */
import { type Db, d1 } from '../db'
import { idempotencyCutoff } from '../idempotency/key'
import type { Cursor } from './cursor'
import type { Versions, VersionCondition } from './preconditions'
import { type ListQuery, PRIORITIES, type SortField, type TaskInput, type TaskPatch } from './schema'

export interface Task {
  id: string
  title: string
  description: string
  completed: boolean
  priority: (typeof PRIORITIES)[number]
  dueAt: string | null
  tags: string[]
  createdAt: string
  updatedAt: string
  completedAt: string | null
  /** 1 when created, +1 on every write; the ETag is made from it. */
  version: number
}

interface TaskRow {
  id: string
  title: string
  description: string
  completed: 0 | 1
  priority: Task['priority']
  due_at: string | null
  tags: string
  created_at: string
  updated_at: string
  completed_at: string | null
  version: number
}

const COLUMNS =
  'id, title, description, completed, priority, due_at, tags, created_at, updated_at, completed_at, version'

const toTask = (row: TaskRow): Task => ({
  id: row.id,
  title: row.title,
  description: row.description,
  completed: row.completed === 1,
  priority: row.priority,
  dueAt: row.due_at,
  tags: JSON.parse(row.tags) as string[],
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  completedAt: row.completed_at,
  version: row.version,
})

/**
 * The one INSERT of a task: it inserts nothing once the user stores `quota` tasks, nor, given
 * `unlessKey`, while that Idempotency-Key has a record newer than `cutoff`.
 */
function insertStatement(
  db: Db,
  userId: string,
  id: string,
  input: TaskInput,
  now: string,
  quota: number,
  unlessKey?: { key: string; cutoff: string },
): D1PreparedStatement {
  const keyIsFree = unlessKey
    ? ' AND NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE user_id = ?1 AND key = ?11 AND created_at > ?12)'
    : ''
  return db
    .prepare(
      `INSERT INTO tasks (id, user_id, title, description, completed, priority, due_at, tags, created_at, updated_at, completed_at)
       SELECT ?2, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, CASE WHEN ?5 = 1 THEN ?9 END
       WHERE coalesce((SELECT n FROM task_counts WHERE user_id = ?1), 0) < ?10${keyIsFree}
       RETURNING ${COLUMNS}`,
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
      ...(unlessKey ? [unlessKey.key, unlessKey.cutoff] : []),
    )
}

/**
 * Inserts the task unless the user already stores `quota` tasks; null when refused. The check and
 * the insert are one statement, so concurrent creates cannot overshoot the quota.
 */
export async function insertTask(
  db: Db,
  userId: string,
  input: TaskInput,
  now: string,
  quota: number,
): Promise<Task | null> {
  const row = await d1(() => insertStatement(db, userId, crypto.randomUUID(), input, now, quota).first<TaskRow>())
  return row && toTask(row)
}

/** The task a create stores, in the shape every response has: the same as toTask of its row. */
const newTask = (input: TaskInput, id: string, now: string): Task => ({
  id,
  title: input.title,
  description: input.description,
  completed: input.completed,
  priority: input.priority,
  dueAt: input.dueAt,
  tags: input.tags,
  createdAt: now,
  updatedAt: now,
  completedAt: input.completed ? now : null,
  // A new row's version is the column default, 1.
  version: 1,
})

export interface IdempotencyKey {
  key: string
  /** Fingerprint of the validated request (src/idempotency/key.ts). */
  fingerprint: string
}

export type OnceResult =
  /** `task` is the response to send: this request's new task, or the one the key first created, as it was then. */
  | { outcome: 'created' | 'replayed'; task: Task }
  /** The key is live with another fingerprint; nothing was written. */
  | { outcome: 'key-reused' }
  /** The key is free but the user is at the quota; nothing was written, so a retry may yet succeed. */
  | { outcome: 'over-quota' }

interface KeyRow {
  request_hash: string
  task_id: string
  response_body: string
}

/**
 * Creates the task unless the user's key already has a live record (or the user is at `quota`), in
 * one batch (one transaction): the task, then the key record only if that task now exists, then
 * whichever record the key has. D1 runs one batch at a time, so of any number of concurrent requests with
 * one key exactly one inserts, and every other one reads its record and replays it.
 * An expired record (older than the window, not yet purged) is replaced, as if it were gone.
 */
export async function insertTaskOnce(
  db: Db,
  userId: string,
  { key, fingerprint }: IdempotencyKey,
  input: TaskInput,
  now: string,
  quota: number,
): Promise<OnceResult> {
  const task = newTask(input, crypto.randomUUID(), now)
  const body = JSON.stringify(task)
  const cutoff = idempotencyCutoff(now)
  const [, , record] = await d1(() =>
    db.batch([
      insertStatement(db, userId, task.id, input, now, quota, { key, cutoff }),
      db
        .prepare(
          `INSERT INTO idempotency_keys (user_id, key, request_hash, task_id, status, response_body, created_at)
           SELECT ?1, ?2, ?3, ?4, 201, ?5, ?6 WHERE EXISTS (SELECT 1 FROM tasks WHERE user_id = ?1 AND id = ?4)
           ON CONFLICT (user_id, key) DO UPDATE SET
             request_hash = excluded.request_hash, task_id = excluded.task_id, status = excluded.status,
             response_body = excluded.response_body, created_at = excluded.created_at`,
        )
        .bind(userId, key, fingerprint, task.id, body, now),
      db
        .prepare(
          'SELECT request_hash, task_id, response_body FROM idempotency_keys WHERE user_id = ?1 AND key = ?2 AND created_at > ?3',
        )
        .bind(userId, key, cutoff),
    ]),
  )
  const row = (record?.results[0] ?? null) as KeyRow | null
  // No live record after the batch: the key was free, and only the quota can have refused the task.
  if (row === null) return { outcome: 'over-quota' }
  if (row.task_id === task.id) return { outcome: 'created', task }
  if (row.request_hash !== fingerprint) return { outcome: 'key-reused' }
  return { outcome: 'replayed', task: JSON.parse(row.response_body) as Task }
}

export async function getTask(db: Db, userId: string, id: string): Promise<Task | null> {
  const row = await d1(() =>
    db.prepare(`SELECT ${COLUMNS} FROM tasks WHERE user_id = ?1 AND id = ?2`).bind(userId, id).first<TaskRow>(),
  )
  return row && toTask(row)
}

export interface ListOptions {
  limit: number
  sort: ListQuery['sort']
  filter: ListQuery['filter']
  /** The first task of the page, from the previous page's cursor. */
  from: Cursor | undefined
  /** The time `overdue` is measured against. */
  now: string
}

interface SortKey {
  /** The column after user_id in this sort's index (migrations/0003_list_indexes.sql). */
  column: string
  /** Added to ORDER BY and to the cursor's bound value, so both compare as the index does. */
  collate: '' | ' COLLATE NOCASE'
  /** A cursor's value (the task's field, as the API shows it) as `column` holds it. */
  position: (value: string | null) => string | number
}

const key = (column: string, options: Partial<Omit<SortKey, 'column'>> = {}): SortKey => ({
  column,
  collate: '',
  position: (value) => value!,
  ...options,
})
const bothWays = (sortKey: SortKey) => ({ asc: sortKey, desc: sortKey })

/**
 * The allow-list every ORDER BY comes from: the only column names a list statement can contain.
 * The generated columns stand in for expressions an index range cannot seek on (see the migration).
 */
const SORTS: Record<SortField, { asc: SortKey; desc: SortKey }> = {
  createdAt: bothWays(key('created_at')),
  updatedAt: bothWays(key('updated_at')),
  // No due date sorts after every date ascending ('~'), before every date descending (''): last both ways.
  dueAt: {
    asc: key('due_nulls_high', { position: (value) => value ?? '~' }),
    desc: key('due_nulls_low', { position: (value) => value ?? '' }),
  },
  priority: bothWays(key('priority_rank', { position: (value) => PRIORITIES.indexOf(value as Task['priority']) })),
  title: bothWays(key('title', { collate: ' COLLATE NOCASE' })),
}

/**
 * The SELECT for one page, served by the sort's index (or, newest first with ?completed=, by the
 * (user_id, completed, created_at, id) one). A filter on the sorted field narrows the index range;
 * the other filters are checked on each row the range yields, so a page reads further the rarer
 * its matches are, at most through the caller's own tasks.
 */
function listStatement(userId: string, { limit, sort, filter, from, now }: ListOptions) {
  const params: unknown[] = [userId]
  const bind = (value: unknown) => `?${params.push(value)}`
  const { column, collate, position } = SORTS[sort.field][sort.descending ? 'desc' : 'asc']
  const where = ['user_id = ?1']
  if (filter.completed !== undefined) where.push(`completed = ${bind(filter.completed ? 1 : 0)}`)
  // Sorted by priority, the filter pins the index to one rank, within which ids alone keep the order.
  const pinned = sort.field === 'priority' && filter.priority !== undefined
  if (filter.priority !== undefined) {
    where.push(pinned ? `${column} = ${bind(position(filter.priority))}` : `priority = ${bind(filter.priority)}`)
  }
  // Sorted by due date, the due filters bound the index range. With a cursor the range starts at
  // the cursor instead, and the bound on that side is only checked: unary + keeps SQLite from
  // seeking on it, which would read every row from that bound up to the cursor again.
  const due = sort.field === 'dueAt' ? column : 'due_at'
  const checkOnly = (starts: boolean) => (from && starts && due !== 'due_at' ? `+${due}` : due)
  const [lower, upper] = [checkOnly(!sort.descending), checkOnly(sort.descending)]
  if (due !== 'due_at' && (filter.dueAfter || filter.dueBefore || filter.overdue)) {
    // A task without a due date matches no due filter; stop the range short of its stand-in.
    where.push(`${due} ${sort.descending ? '>' : '<'} ${bind(position(null))}`)
  }
  if (filter.dueAfter !== undefined) where.push(`${lower} >= ${bind(filter.dueAfter)}`)
  if (filter.dueBefore !== undefined) where.push(`${upper} < ${bind(filter.dueBefore)}`)
  if (filter.overdue) where.push('completed = 0', `${upper} < ${bind(now)}`)
  for (const tag of filter.tags ?? []) where.push(`EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ${bind(tag)})`)
  if (filter.q !== undefined) {
    // instr(), not LIKE: q is literal text with no wildcards to escape, and D1 refuses LIKE patterns
    // over 50 bytes. lower() folds ASCII letters only, as LIKE's case-insensitivity does.
    // Both sides through SQLite's lower(), so that non-ASCII letters compare exactly on both.
    const needle = `lower(${bind(filter.q)})`
    where.push(`(instr(lower(title), ${needle}) > 0 OR instr(lower(description), ${needle}) > 0)`)
  }
  const direction = sort.descending ? 'DESC' : 'ASC'
  if (from) {
    const op = sort.descending ? '<=' : '>='
    where.push(
      pinned
        ? `id ${op} ${bind(from.id)}`
        : `(${column}, id) ${op} (${bind(position(from.value))}${collate}, ${bind(from.id)})`,
    )
  }
  const sql = `SELECT ${COLUMNS} FROM tasks WHERE ${where.join(' AND ')}
               ORDER BY ${column}${collate} ${direction}, id ${direction} LIMIT ${bind(limit)}`
  return { sql, params }
}

export async function listTasks(db: Db, userId: string, options: ListOptions): Promise<Task[]> {
  const { sql, params } = listStatement(userId, options)
  const { results } = await d1(() =>
    db
      .prepare(sql)
      .bind(...params)
      .all<TaskRow>(),
  )
  return results.map(toTask)
}

// Allow-list of the columns a write may set, keyed by the API field.
const WRITABLE = {
  title: 'title',
  description: 'description',
  completed: 'completed',
  priority: 'priority',
  dueAt: 'due_at',
  tags: 'tags',
} as const satisfies Record<keyof TaskInput, string>

/**
 * The WHERE terms that make a write conditional. They sit in the write's own statement, so between
 * the check and the write no other writer can slip in: of concurrent writers holding the same
 * version, exactly one matches. Versions are bound as one JSON array, however many there are.
 */
function conditionTerms(condition: VersionCondition, params: unknown[]): string[] {
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

/**
 * Sets the given fields (PATCH) or all of them (PUT) and bumps the version, in one statement; null
 * when no task of the user's with this id meets the condition.
 */
export async function updateTask(
  db: Db,
  userId: string,
  id: string,
  changes: TaskPatch | TaskInput,
  now: string,
  condition: VersionCondition = {},
): Promise<Task | null> {
  const params: unknown[] = [userId, id, now]
  const sets = ['updated_at = ?3', 'version = version + 1']
  for (const [field, column] of Object.entries(WRITABLE) as [keyof typeof WRITABLE, string][]) {
    const value = changes[field]
    if (value === undefined) continue
    params.push(field === 'tags' ? JSON.stringify(value) : field === 'completed' ? (value ? 1 : 0) : value)
    sets.push(`${column} = ?${params.length}`)
    if (field === 'completed') {
      // Completing keeps the first completion time; reopening clears it.
      sets.push(`completed_at = CASE WHEN ?${params.length} = 1 THEN COALESCE(completed_at, ?3) END`)
    }
  }
  const where = ['user_id = ?1', 'id = ?2', ...conditionTerms(condition, params)]
  const row = await d1(() =>
    db
      .prepare(`UPDATE tasks SET ${sets.join(', ')} WHERE ${where.join(' AND ')} RETURNING ${COLUMNS}`)
      .bind(...params)
      .first<TaskRow>(),
  )
  return row && toTask(row)
}

/** The id and title of the user's task that is now gone; null when no task of the user's with this id meets the condition. */
export async function deleteTask(
  db: Db,
  userId: string,
  id: string,
  condition: VersionCondition = {},
): Promise<{ id: string; title: string } | null> {
  const params: unknown[] = [userId, id]
  const where = ['user_id = ?1', 'id = ?2', ...conditionTerms(condition, params)]
  return await d1(() =>
    db
      .prepare(`DELETE FROM tasks WHERE ${where.join(' AND ')} RETURNING id, title`)
      .bind(...params)
      .first<{ id: string; title: string }>(),
  )
}

/**
 * Deletes all of the user's completed tasks, in one transaction with the count of what it deletes
 * (D1's `changes` would also count the rows the tombstone triggers write).
 */
export async function deleteCompletedTasks(db: Db, userId: string): Promise<number> {
  const [counted] = await d1(() =>
    db.batch([
      db.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1 AND completed = 1').bind(userId),
      db.prepare('DELETE FROM tasks WHERE user_id = ?1 AND completed = 1').bind(userId),
    ]),
  )
  return (counted!.results[0] as { n: number }).n
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

export interface ChangesRead {
  /** The user's last sequence number, and the highest one of a purged tombstone (0 and 0 for a new user). */
  seq: number
  horizon: number
  /** Tasks written after `after`, in sequence order. */
  tasks: { seq: number; task: Task }[]
  /** Tasks deleted after `tombstonesAfter`, in sequence order. */
  tombstones: { seq: number; id: string }[]
}

export interface ChangesOptions {
  after: number
  /** Undefined: no tombstones are read (a feed from the beginning needs none). */
  tombstonesAfter: number | undefined
  limit: number
}

/**
 * The sync feed's reads, in one batch: one transaction, so the sequence number, the tasks and the
 * tombstones are the same snapshot. Served by tasks (user_id, seq) and the tombstones' primary key.
 */
export async function readChanges(
  db: Db,
  userId: string,
  { after, tombstonesAfter, limit }: ChangesOptions,
): Promise<ChangesRead> {
  const statements = [
    db.prepare('SELECT seq, horizon FROM task_sync WHERE user_id = ?1').bind(userId),
    db
      .prepare(`SELECT ${COLUMNS}, seq FROM tasks WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3`)
      .bind(userId, after, limit),
  ]
  if (tombstonesAfter !== undefined) {
    statements.push(
      db
        .prepare('SELECT seq, id FROM task_tombstones WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3')
        .bind(userId, tombstonesAfter, limit),
    )
  }
  const [state, tasks, tombstones] = await d1(() => db.batch(statements))
  const sync = state!.results[0] as { seq: number; horizon: number } | undefined
  return {
    seq: sync?.seq ?? 0,
    horizon: sync?.horizon ?? 0,
    tasks: (tasks!.results as (TaskRow & { seq: number })[]).map((row) => ({ seq: row.seq, task: toTask(row) })),
    tombstones: (tombstones?.results ?? []) as { seq: number; id: string }[],
  }
}
