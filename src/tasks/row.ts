/** A task as D1 stores it, and the one mapping from that row to the `Task` of model.ts. */
import type { Recurrence } from '../recurrence/rule'
import { withDefaultWeekdays } from '../recurrence/successor'
import type { Task, TaskFields } from './model'

/** Each field's column, in the order the API shows the fields. */
export const COLUMN_OF = {
  id: 'id',
  title: 'title',
  description: 'description',
  completed: 'completed',
  priority: 'priority',
  dueAt: 'due_at',
  tags: 'tags',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  completedAt: 'completed_at',
  version: 'version',
  number: 'number',
  recurrence: 'recurrence',
  timeZone: 'time_zone',
  nextTaskId: 'next_task_id',
  nextTaskNumber: 'next_task_number',
  remindAt: 'remind_at',
} as const satisfies Record<keyof Task, string>

/**
 * What `SELECT ${COLUMNS}` (repo.ts) returns: SQLite has no boolean, array or object, so `completed` is 0/1
 * and `tags` and `recurrence` are JSON.
 */
export type TaskRow = {
  [K in keyof Task as (typeof COLUMN_OF)[K]]: K extends 'completed'
    ? 0 | 1
    : K extends 'tags'
      ? string
      : K extends 'recurrence'
        ? string | null
        : Task[K]
}

export const toTask = (row: TaskRow): Task => ({
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
  number: row.number,
  recurrence: row.recurrence === null ? null : (JSON.parse(row.recurrence) as Recurrence),
  timeZone: row.time_zone,
  nextTaskId: row.next_task_id,
  nextTaskNumber: row.next_task_number,
  remindAt: row.remind_at,
})

/** A new task's rule, with a weekly rule's weekday filled in from its due date (null without one). */
export const ruleOf = (fields: TaskFields): Recurrence | null =>
  fields.recurrence === null || fields.dueAt === null
    ? null
    : withDefaultWeekdays(fields.recurrence, fields.dueAt, fields.timeZone)

/**
 * The task a create stores, in the shape every response has: the same as toTask of its row, but for
 * its number, which the INSERT takes (migrations/0006_task_numbers.sql) and the caller fills in.
 */
export const newTask = (fields: TaskFields, id: string, now: string): Task => ({
  id,
  title: fields.title,
  description: fields.description,
  completed: fields.completed,
  priority: fields.priority,
  dueAt: fields.dueAt,
  tags: fields.tags,
  createdAt: now,
  updatedAt: now,
  completedAt: fields.completed ? now : null,
  // A new row's version is the column default, 1.
  version: 1,
  number: 0,
  recurrence: ruleOf(fields),
  timeZone: fields.timeZone,
  nextTaskId: null,
  nextTaskNumber: null,
  remindAt: fields.remindAt,
})
