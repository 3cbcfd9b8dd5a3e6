/**
 * The SQL for a page of the user's tasks: every filter and sort, each served by an index
 * (migrations/0003_list_indexes.sql, 0011_tasks_without_rowid.sql). `user_id = ?1` is in every
 * statement; values are bound, and column names come only from the SORTS allow-list and row.ts.
 */
import { type Db, d1 } from '../db'
import type { Cursor } from './cursor'
import { PRIORITIES, type Task } from './model'
import { COLUMNS } from './repo'
import type { ListQuery, SortField } from './requests'
import { type TaskRow, toTask } from './row'

export interface ListOptions {
  limit: number
  sort: ListQuery['sort']
  filter: ListQuery['filter']
  /** The first task of the page, from the previous page's cursor. */
  from: Cursor | undefined
  /** The time `overdue` is measured against. */
  now: string
  /** Rows of the listing to pass over before the page (the /api routes' `skip`); they are read, too. */
  offset?: number
}

interface SortKey {
  /** The column after user_id in this sort's index (migrations/0003_list_indexes.sql, 0011). */
  column: string
  /** Added to ORDER BY and to the cursor's bound value, so both compare as the index does. */
  collate: '' | ' COLLATE NOCASE'
  /** A cursor's value as `column` holds it. */
  position: (value: Cursor['value']) => string | number
  /** The cursor's value for a row: the sorted field as the API shows it, or the column itself. */
  value: (row: ListRow) => Cursor['value']
}

/** A row of a page: a task, and its sequence number, which the updatedAt cursor carries. */
type ListRow = TaskRow & { seq: number }

const key = (column: string, options: Partial<Omit<SortKey, 'column'>> = {}): SortKey => ({
  column,
  collate: '',
  position: (value) => value!,
  value: (row) => row[column as keyof ListRow] as Cursor['value'],
  ...options,
})
const bothWays = (sortKey: SortKey) => ({ asc: sortKey, desc: sortKey })

/**
 * The allow-list every ORDER BY comes from: the only column names a list statement can contain.
 * The generated columns stand in for expressions an index range cannot seek on (see the migration).
 */
const SORTS: Record<SortField, { asc: SortKey; desc: SortKey }> = {
  // The order the database created and last wrote the tasks in, which is what the timestamps record,
  // without their ties or clock skew (migrations/0011): served by the number and sequence indexes.
  createdAt: bothWays(key('number')),
  updatedAt: bothWays(key('seq')),
  // No due date sorts after every date ascending ('~'), before every date descending (''): last both ways.
  dueAt: {
    asc: key('due_nulls_high', { position: (value) => value ?? '~', value: (row) => row.due_at }),
    desc: key('due_nulls_low', { position: (value) => value ?? '', value: (row) => row.due_at }),
  },
  priority: bothWays(
    key('priority_rank', {
      position: (value) => PRIORITIES.indexOf(value as Task['priority']),
      value: (row) => row.priority,
    }),
  ),
  title: bothWays(key('title', { collate: ' COLLATE NOCASE' })),
}

/**
 * The SELECT for one page, served by the sort's index (or, newest first with ?completed=, by the
 * (user_id, completed, number) one). A filter on the sorted field narrows the index range;
 * the other filters are checked on each row the range yields, so a page reads further the rarer
 * its matches are, at most through the caller's own tasks.
 */
function listStatement(userId: string, { limit, sort, filter, from, now, offset }: ListOptions, count = false) {
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
  // Served by tasks_by_user_remind: the user's reminders in the range, whatever the sort.
  if (filter.remindAfter !== undefined) where.push(`remind_at >= ${bind(filter.remindAfter)}`)
  if (filter.remindBefore !== undefined) where.push(`remind_at < ${bind(filter.remindBefore)}`)
  for (const tag of filter.tags ?? []) where.push(`EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ${bind(tag)})`)
  if (filter.q !== undefined) {
    // instr(), not LIKE: q is literal text with no wildcards to escape, and D1 refuses LIKE patterns
    // over 50 bytes. lower() folds ASCII letters only, as LIKE's case-insensitivity does.
    // Both sides through SQLite's lower(), so that non-ASCII letters compare exactly on both.
    const needle = `lower(${bind(filter.q)})`
    where.push(`(instr(lower(title), ${needle}) > 0 OR instr(lower(description), ${needle}) > 0)`)
  }
  if (count) return { sql: `SELECT count(*) AS n FROM tasks WHERE ${where.join(' AND ')}`, params }
  const direction = sort.descending ? 'DESC' : 'ASC'
  if (from) {
    const op = sort.descending ? '<=' : '>='
    where.push(
      pinned
        ? `id ${op} ${bind(from.id)}`
        : `(${column}, id) ${op} (${bind(position(from.value))}${collate}, ${bind(from.id)})`,
    )
  }
  const sql = `SELECT ${COLUMNS}, seq FROM tasks WHERE ${where.join(' AND ')}
               ORDER BY ${column}${collate} ${direction}, id ${direction} LIMIT ${bind(limit)}${offset ? ` OFFSET ${bind(offset)}` : ''}`
  return { sql, params }
}

async function listRows(db: Db, userId: string, options: ListOptions): Promise<ListRow[]> {
  const { sql, params } = listStatement(userId, options)
  const { results } = await d1(() =>
    db
      .prepare(sql)
      .bind(...params)
      .all<ListRow>(),
  )
  return results
}

/** Up to `limit` of the user's tasks, from `offset` on (the /api routes page by offset). */
export async function listTasks(db: Db, userId: string, options: ListOptions): Promise<Task[]> {
  return (await listRows(db, userId, options)).map(toTask)
}

/**
 * One page of `limit` tasks from the cursor `from`, and where the next page starts (null on the
 * last one). One row more than the page is read: it tells whether there is a next page, and is
 * that page's first task, which is what the cursor points at.
 */
export async function listPage(
  db: Db,
  userId: string,
  options: ListOptions,
): Promise<{ tasks: Task[]; next: Cursor | null }> {
  const rows = await listRows(db, userId, { ...options, limit: options.limit + 1 })
  const peek = rows[options.limit]
  const { value } = SORTS[options.sort.field][options.sort.descending ? 'desc' : 'asc']
  return {
    tasks: rows.slice(0, options.limit).map(toTask),
    next: peek ? { value: value(peek), id: peek.id } : null,
  }
}

/**
 * One page and how many of the user's tasks match its filters, in one batch. Unfiltered, the count is
 * the user's task_counts row; filtered, it is counted, reading every matching row the index yields.
 */
export async function listTasksWithTotal(
  db: Db,
  userId: string,
  options: ListOptions,
): Promise<{ tasks: Task[]; total: number }> {
  const page = listStatement(userId, options)
  const filtered = Object.values(options.filter).some((value) => value !== undefined)
  const count = filtered
    ? listStatement(userId, options, true)
    : { sql: 'SELECT n FROM task_counts WHERE user_id = ?1', params: [userId] }
  const [rows, counted] = await d1(() =>
    db.batch([db.prepare(page.sql).bind(...page.params), db.prepare(count.sql).bind(...count.params)]),
  )
  return {
    tasks: (rows!.results as ListRow[]).map(toTask),
    total: (counted!.results[0] as { n: number } | undefined)?.n ?? 0,
  }
}
