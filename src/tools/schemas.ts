/**
 * The task tools' arguments and results (src/tools/tasks.ts), for MCP and chat alike. Each task
 * field is validated by the same zod schema as the REST API's (src/tasks/requests.ts), and results
 * carry the task as src/tasks/model.ts describes it.
 */
import * as z from 'zod'
import { PRIORITIES, task } from '../tasks/model'
import { MAX_PAGE_SIZE, SORT_FIELDS, taskInput, taskPatch } from '../tasks/requests'

const DEFAULT_LIST_SIZE = 20

/** Accepted only so a model that passes its user's id is not refused; any other id is (src/tools/tasks.ts). */
const userId = z
  .string()
  .optional()
  .describe("Not needed: tasks always belong to the signed-in user. If given, it must be that user's id.")

const taskId = z
  .union([z.int().min(1), z.string()])
  .describe("The task's number (task_id as the tools return it, or a task's number), or its UUID id.")

const expectedVersion = z
  .int()
  .min(1)
  .optional()
  .describe("Act only if the task is still at this version (the task's version field); else nothing changes.")

const field = taskInput.shape
const optional = taskPatch.shape

export const addTaskArgs = z.strictObject({
  title: field.title.describe('What to do.'),
  description: field.description.describe('Details, if any.'),
  priority: field.priority,
  tags: field.tags.describe('Labels, each at most 32 characters.'),
  due_at: field.dueAt.describe('When it is due: an RFC 3339 date-time such as 2026-05-01T09:30:00Z, or null.'),
  recurrence: field.recurrence.describe('How the task repeats (needs due_at); completing it creates the next one.'),
  time_zone: field.timeZone.describe('The IANA time zone the recurrence keeps its wall-clock time in.'),
  remind_at: field.remindAt.describe('When to remind the user: an RFC 3339 date-time, or null.'),
  user_id: userId,
})

const sorts = SORT_FIELDS.flatMap((name) => [name, `-${name}` as const])

export const listTasksArgs = z.strictObject({
  status: z.enum(['all', 'pending', 'completed']).default('all').describe('pending: open tasks only.'),
  query: z.string().optional().describe('Only tasks whose title or description contains this text (any case).'),
  priority: z.enum(PRIORITIES).optional(),
  tag: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('Only tasks with this tag, or with all of these tags.'),
  due_after: z.string().optional().describe('Only tasks due at or after this RFC 3339 date-time.'),
  due_before: z.string().optional().describe('Only tasks due strictly before this RFC 3339 date-time.'),
  overdue: z.boolean().optional().describe('true: only open tasks whose due date has passed.'),
  sort: z
    .enum(sorts)
    .default('-createdAt')
    .describe('A field, ascending, or descending with a leading "-". Default: newest first.'),
  limit: z.int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_LIST_SIZE),
  cursor: z.string().optional().describe('next_cursor from the previous call with the same filters: the next page.'),
  user_id: userId,
})

export const completeTaskArgs = z.strictObject({
  task_id: taskId,
  completed: z.boolean().default(true).describe('false reopens the task.'),
  expected_version: expectedVersion,
  user_id: userId,
})

export const updateTaskArgs = z.strictObject({
  task_id: taskId,
  title: optional.title,
  description: optional.description,
  completed: optional.completed,
  priority: optional.priority,
  tags: optional.tags.describe('Replaces all of the tags.'),
  due_at: optional.dueAt.describe('An RFC 3339 date-time, or null to clear it.'),
  recurrence: optional.recurrence.describe('How the task repeats, or null to end the series.'),
  time_zone: optional.timeZone,
  remind_at: optional.remindAt.describe('An RFC 3339 date-time, or null for no reminder.'),
  expected_version: expectedVersion,
  user_id: userId,
})

export const deleteTaskArgs = z.strictObject({
  task_id: taskId,
  expected_version: expectedVersion,
  user_id: userId,
})

/** What every tool that acts on one task answers. */
export const taskOutcome = z.strictObject({
  task_id: task.shape.number.describe("The task's per-user number: what to pass as task_id, and to show the user."),
  id: task.shape.id,
  status: z.enum(['created', 'completed', 'reopened', 'updated', 'deleted']),
  title: z.string(),
  task: task.optional().describe('The task as it is now (absent once deleted).'),
})

export const taskList = z.strictObject({
  tasks: z.array(task),
  next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page.'),
})
