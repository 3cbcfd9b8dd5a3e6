/**
 * The MCP server: five tools over the same repo functions as the REST API, for the user
 * src/auth.ts verified (`c.var.user`), built afresh for each request.
 */
import { type CallToolResult, McpServer, requireScopes } from '@modelcontextprotocol/server'
import type { Context } from 'hono'
import type * as z from 'zod'
import { SCOPES } from '../auth'
import { DatabaseError, type Db } from '../db'
import type { AppEnv } from '../env'
import { limits } from '../limits'
import { Problem } from '../problem'
import { encodeCursor } from '../tasks/cursor'
import { isTaskId } from '../tasks/id'
import { listPage } from '../tasks/list-repo'
import type { Task } from '../tasks/model'
import type { VersionCondition } from '../tasks/preconditions'
import type { TaskRef } from '../tasks/repo'
import * as repo from '../tasks/repo'
import { listQuery, RECURRENCE_NEEDS_DUE_AT, type TaskPatch } from '../tasks/requests'
import { writeTask } from '../tasks/write-repo'
import {
  addTaskArgs,
  completeTaskArgs,
  deleteTaskArgs,
  listTasksArgs,
  taskList,
  taskOutcome,
  updateTaskArgs,
} from './schemas'

/** A result the model can act on: isError, and what to do about it. */
const toolError = (message: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text: message }] })

const success = (structured: Record<string, unknown>): CallToolResult => ({
  // The text form is for clients that do not read structuredContent.
  content: [{ type: 'text', text: JSON.stringify(structured) }],
  structuredContent: structured,
})

class ToolRefusal extends Error {}

const now = () => new Date().toISOString()

const condition = (expectedVersion: number | undefined): VersionCondition =>
  expectedVersion === undefined ? {} : { match: [expectedVersion] }

const outcome = (status: z.output<typeof taskOutcome>['status'], task: Task) => ({
  task_id: task.number,
  id: task.id,
  status,
  title: task.title,
  task,
})

const stale = (task: string, expectedVersion: number | undefined) =>
  new ToolRefusal(
    `${task} is no longer at version ${expectedVersion}; nothing was changed. Read it again with list_tasks, then retry.`,
  )

/**
 * The REST API's 412 / 403 / 404, worded for a model, when a scoped write matched no task. A number
 * names one of the caller's own tasks or none (everyone has a task 1): only the caller's are looked at.
 */
async function refuseMiss(db: Db, userId: string, ref: TaskRef, expectedVersion: number | undefined): Promise<never> {
  if (typeof ref !== 'string') {
    if (await repo.getTask(db, userId, ref)) throw stale(`Task ${ref.number}`, expectedVersion)
    throw new ToolRefusal(`The user has no task number ${ref.number}. Call list_tasks to find the task_id.`)
  }
  const id = ref
  const owner = await repo.taskOwner(db, userId, id)
  if (owner === 'mine') throw stale(`Task ${id}`, expectedVersion)
  if (owner === 'other') throw new ToolRefusal(`Task ${id} belongs to another user; nothing was changed.`)
  throw new ToolRefusal(`No task has the id ${id}. Call list_tasks to find the task_id.`)
}

/**
 * The REST API's PUT/PATCH write (src/tasks/write-repo.ts): completing a recurring task creates its
 * successor here too, exactly once. Each refusal is worded for a model.
 */
async function writeFields(
  c: Context<AppEnv>,
  user: { id: string; db: Db },
  id: TaskRef,
  changes: TaskPatch,
  expectedVersion: number | undefined,
): Promise<Task> {
  const { taskQuota } = limits(c.env)
  const result = await writeTask(user.db, user.id, id, changes, now(), condition(expectedVersion), taskQuota)
  if (result.outcome === 'written') return result.task
  if (result.outcome === 'over-quota') {
    throw new ToolRefusal(
      `Completing this recurring task would create its next occurrence, but the user already has ${taskQuota} tasks; nothing was changed.`,
    )
  }
  if (result.outcome === 'needs-due-date') {
    throw new ToolRefusal(
      `A recurring task needs a due_at; set recurrence to null as well to clear it. Nothing was changed.`,
    )
  }
  return refuseMiss(user.db, user.id, id, expectedVersion)
}

// Numbers as the schema stores them: positive integers within JavaScript's exact range.
const NUMBER = /^[1-9]\d{0,15}$/

/**
 * The task a `task_id` names: a number (or a string of its digits), looked up through the
 * (user_id, number) index among the caller's tasks only, or a UUID.
 */
function taskIdOf(value: string | number): TaskRef {
  if (typeof value === 'number') return { number: value }
  const text = value.trim()
  if (NUMBER.test(text) && Number.isSafeInteger(Number(text))) return { number: Number(text) }
  const id = text.toLowerCase()
  if (!isTaskId(id)) throw new ToolRefusal(`"${value}" is not a task_id. Call list_tasks to find the task's number.`)
  return id
}

/**
 * Runs a tool for the signed-in user. A `user_id` naming anyone else is refused before anything is
 * read or written; a refusal, a Problem or a database failure becomes a tool error (isError).
 */
function run<A extends { user_id?: string | undefined }>(
  c: Context<AppEnv>,
  action: (args: A, user: { id: string; db: Db }) => Promise<Record<string, unknown>>,
) {
  return async (args: A): Promise<CallToolResult> => {
    const user = c.get('user')
    const db = c.get('db')
    if (args.user_id !== undefined && args.user_id !== user.id) {
      return toolError(
        "user_id is not the signed-in user's id: tasks always belong to the user who authorized this app. Omit user_id.",
      )
    }
    try {
      return success(await action(args, { id: user.id, db }))
    } catch (error) {
      if (error instanceof ToolRefusal || error instanceof Problem) return toolError(error.message)
      if (error instanceof DatabaseError) {
        console.error(
          JSON.stringify({
            level: 'error',
            message: 'database failure',
            requestId: c.get('requestId'),
            error: String(error.cause),
          }),
        )
        return toolError('The task database is unavailable; try again in a few seconds.')
      }
      throw error
    }
  }
}

const REST_NAMES: Record<string, string> = {
  completed: 'status',
  q: 'query',
  dueAfter: 'due_after',
  dueBefore: 'due_before',
}

/** list_tasks' arguments as the REST API's query, so that one schema validates both. */
function listingOf(args: z.output<typeof listTasksArgs>) {
  const query: Record<string, string | string[]> = { sort: args.sort, limit: String(args.limit) }
  if (args.status !== 'all') query.completed = String(args.status === 'completed')
  const optional = { q: args.query, priority: args.priority, tag: args.tag, dueAfter: args.due_after }
  for (const [name, value] of Object.entries({ ...optional, dueBefore: args.due_before, cursor: args.cursor })) {
    if (value !== undefined) query[name] = value
  }
  if (args.overdue) query.overdue = 'true'
  else if (args.overdue === false) throw new ToolRefusal('overdue=false is not supported; omit it.')
  const parsed = listQuery.safeParse(query)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '')
      return `${REST_NAMES[name] ?? name} ${issue.message}`
    })
    throw new ToolRefusal(`Invalid arguments: ${issues.join('; ')}.`)
  }
  return parsed.data
}

/** The MCP server for this request: every tool reads and writes only `c.var.user`'s tasks. */
export function tasksServer(c: Context<AppEnv>): McpServer {
  const server = new McpServer(
    { name: 'tasks-api', version: '1.0.0' },
    { instructions: "Manage the signed-in user's tasks. Find a task_id with list_tasks before changing a task." },
  )
  const read = requireScopes(SCOPES.read)
  const write = requireScopes(SCOPES.write)

  server.registerTool(
    'add_task',
    {
      title: 'Add a task',
      description: 'Creates a task for the user.',
      inputSchema: addTaskArgs,
      outputSchema: taskOutcome,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      scopeChallenge: write,
    },
    run(c, async (args, user) => {
      const { due_at: dueAt, time_zone: timeZone, remind_at: remindAt, user_id: _, ...fields } = args
      if (fields.recurrence !== null && dueAt === null) throw new ToolRefusal(`recurrence ${RECURRENCE_NEEDS_DUE_AT}.`)
      const input = { ...fields, dueAt, timeZone, remindAt, completed: false }
      const { taskQuota } = limits(c.env)
      const task = await repo.insertTask(user.db, user.id, input, now(), taskQuota)
      if (!task) throw new ToolRefusal(`The user already has ${taskQuota} tasks, the most allowed; delete some first.`)
      return outcome('created', task)
    }),
  )

  server.registerTool(
    'list_tasks',
    {
      title: 'List tasks',
      description: "Lists the user's tasks, newest first unless sorted otherwise, one page at a time.",
      inputSchema: listTasksArgs,
      outputSchema: taskList,
      annotations: { readOnlyHint: true, openWorldHint: false },
      scopeChallenge: read,
    },
    run(c, async (args, user) => {
      const { limit, sort, filter, listing, from } = listingOf(args)
      const page = await listPage(user.db, user.id, { limit, sort, filter, from, now: now() })
      return { tasks: page.tasks, next_cursor: page.next && encodeCursor(page.next, listing) }
    }),
  )

  server.registerTool(
    'complete_task',
    {
      title: 'Complete a task',
      description: 'Marks a task completed, or open again with completed=false.',
      inputSchema: completeTaskArgs,
      outputSchema: taskOutcome,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      scopeChallenge: write,
    },
    run(c, async (args, user) => {
      const id = taskIdOf(args.task_id)
      const task = await writeFields(c, user, id, { completed: args.completed }, args.expected_version)
      return outcome(args.completed ? 'completed' : 'reopened', task)
    }),
  )

  server.registerTool(
    'update_task',
    {
      title: 'Update a task',
      description: 'Changes any of the fields of a task; fields not given stay as they are.',
      inputSchema: updateTaskArgs,
      outputSchema: taskOutcome,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      scopeChallenge: write,
    },
    run(c, async (args, user) => {
      const id = taskIdOf(args.task_id)
      const { task_id: _, expected_version: expected, user_id: __, due_at, time_zone, remind_at, ...fields } = args
      const renamed = { ...fields, dueAt: due_at, timeZone: time_zone, remindAt: remind_at }
      const changes = Object.fromEntries(
        Object.entries(renamed).filter(([, value]) => value !== undefined),
      ) as TaskPatch
      if (Object.keys(changes).length === 0) throw new ToolRefusal('Give at least one field to change.')
      const task = await writeFields(c, user, id, changes, expected)
      return outcome('updated', task)
    }),
  )

  server.registerTool(
    'delete_task',
    {
      title: 'Delete a task',
      description: 'Deletes a task for good.',
      inputSchema: deleteTaskArgs,
      outputSchema: taskOutcome,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      scopeChallenge: write,
    },
    run(c, async (args, user) => {
      const id = taskIdOf(args.task_id)
      const { tombstonesPerUser } = limits(c.env)
      const deleted =
        (await repo.deleteTask(user.db, user.id, id, tombstonesPerUser, condition(args.expected_version))) ??
        (await refuseMiss(user.db, user.id, id, args.expected_version))
      return { task_id: deleted.number, id: deleted.id, status: 'deleted', title: deleted.title }
    }),
  )

  return server
}
