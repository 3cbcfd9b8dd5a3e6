/**
 * The five task tools (add_task, list_tasks, complete_task, update_task, delete_task) over the task
 * service, defined once for every door that gives a model tools: the MCP server (src/mcp/tools.ts)
 * and the assistant chat. A tool acts only for the service's user, whatever its arguments say; each
 * refusal is worded for a model: what went wrong, and what to do about it.
 */
import type { Context } from 'hono'
import type * as z from 'zod'
import { DatabaseError } from '../db'
import type { AppEnv } from '../env'
import { Problem } from '../problem'
import { encodeCursor } from '../tasks/cursor'
import { isTaskId } from '../tasks/id'
import type { Task } from '../tasks/model'
import type { VersionCondition } from '../tasks/preconditions'
import type { Refusal } from '../tasks/refusals'
import { listQuery, RECURRENCE_NEEDS_DUE_AT, type TaskPatch } from '../tasks/requests'
import type { TaskRef, TaskService } from '../tasks/service'
import {
  addTaskArgs,
  completeTaskArgs,
  deleteTaskArgs,
  listTasksArgs,
  taskList,
  taskOutcome,
  updateTaskArgs,
} from './schemas'

/** A tool's answer: its structured result, or a refusal the model can act on. */
export type ToolResult = { isError: false; structured: Record<string, unknown> } | { isError: true; message: string }

export interface TaskTool<Args extends z.ZodObject = z.ZodObject> {
  name: string
  title: string
  description: string
  inputSchema: Args
  outputSchema: z.ZodObject
  annotations: { readOnlyHint: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint: false }
  /** The OAuth scope an access token needs for it. */
  scope: 'read' | 'write'
  run(tasks: TaskService, args: z.output<Args>): Promise<Record<string, unknown>>
}

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

const named = (ref: TaskRef) => (typeof ref === 'string' ? `Task ${ref}` : `Task ${ref.number}`)

/** The REST API's 404 / 403 / 412 / 409 / quota / 422, worded for a model. */
function refusal(ref: TaskRef | undefined, refused: Refusal, expectedVersion?: number): ToolRefusal {
  switch (refused.kind) {
    case 'not-found':
      return new ToolRefusal(
        typeof ref === 'object'
          ? `The user has no task number ${ref.number}. Call list_tasks to find the task_id.`
          : `No task has the id ${ref}. Call list_tasks to find the task_id.`,
      )
    case 'forbidden':
      return new ToolRefusal(`Task ${ref} belongs to another user; nothing was changed.`)
    case 'precondition-failed':
      return new ToolRefusal(
        `${named(ref!)} is no longer at version ${expectedVersion}; nothing was changed. Read it again with list_tasks, then retry.`,
      )
    case 'conflict':
      return new ToolRefusal(
        `${named(ref!)} kept changing while this was tried; nothing was changed. Read it again with list_tasks, then retry.`,
      )
    case 'quota':
      return new ToolRefusal(
        ref === undefined
          ? `The user already has ${refused.quota} tasks, the most allowed; delete some first.`
          : `Completing this recurring task would create its next occurrence, but the user already has ${refused.quota} tasks; nothing was changed.`,
      )
    case 'needs-due-date':
      return new ToolRefusal(
        'A recurring task needs a due_at; set recurrence to null as well to clear it. Nothing was changed.',
      )
    case 'key-reused':
    case 'key-budget':
      // The tools send no Idempotency-Key; a door that did would word these itself.
      return new ToolRefusal('The request was refused; nothing was changed.')
    default:
      return refused satisfies never
  }
}

/** The task an operation left, or the refusal that the model is told. */
function done<T>(ref: TaskRef | undefined, result: { kind: 'ok'; task: T } | Refusal, expectedVersion?: number): T {
  if (result.kind === 'ok') return result.task
  throw refusal(ref, result, expectedVersion)
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

const tool = <Args extends z.ZodObject>(definition: TaskTool<Args>) => definition

export const TASK_TOOLS = [
  tool({
    name: 'add_task',
    title: 'Add a task',
    description: 'Creates a task for the user.',
    inputSchema: addTaskArgs,
    outputSchema: taskOutcome,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    scope: 'write',
    async run(tasks, args) {
      const { due_at: dueAt, time_zone: timeZone, remind_at: remindAt, user_id: _, ...fields } = args
      if (fields.recurrence !== null && dueAt === null) throw new ToolRefusal(`recurrence ${RECURRENCE_NEEDS_DUE_AT}.`)
      const task = done(undefined, await tasks.create({ ...fields, dueAt, timeZone, remindAt, completed: false }))
      return outcome('created', task)
    },
  }),
  tool({
    name: 'list_tasks',
    title: 'List tasks',
    description: "Lists the user's tasks, newest first unless sorted otherwise, one page at a time.",
    inputSchema: listTasksArgs,
    outputSchema: taskList,
    annotations: { readOnlyHint: true, openWorldHint: false },
    scope: 'read',
    async run(tasks, args) {
      const { limit, sort, filter, listing, from } = listingOf(args)
      const page = await tasks.page({ limit, sort, filter, from, now: now() })
      return { tasks: page.tasks, next_cursor: page.next && encodeCursor(page.next, listing) }
    },
  }),
  tool({
    name: 'complete_task',
    title: 'Complete a task',
    description: 'Marks a task completed, or open again with completed=false.',
    inputSchema: completeTaskArgs,
    outputSchema: taskOutcome,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    scope: 'write',
    async run(tasks, args) {
      const ref = taskIdOf(args.task_id)
      const expected = args.expected_version
      const task = done(ref, await tasks.update(ref, { completed: args.completed }, condition(expected)), expected)
      return outcome(args.completed ? 'completed' : 'reopened', task)
    },
  }),
  tool({
    name: 'update_task',
    title: 'Update a task',
    description: 'Changes any of the fields of a task; fields not given stay as they are.',
    inputSchema: updateTaskArgs,
    outputSchema: taskOutcome,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    scope: 'write',
    async run(tasks, args) {
      const ref = taskIdOf(args.task_id)
      const { task_id: _, expected_version: expected, user_id: __, due_at, time_zone, remind_at, ...fields } = args
      const renamed = { ...fields, dueAt: due_at, timeZone: time_zone, remindAt: remind_at }
      const changes = Object.fromEntries(
        Object.entries(renamed).filter(([, value]) => value !== undefined),
      ) as TaskPatch
      if (Object.keys(changes).length === 0) throw new ToolRefusal('Give at least one field to change.')
      const task = done(ref, await tasks.update(ref, changes, condition(expected)), expected)
      return outcome('updated', task)
    },
  }),
  tool({
    name: 'delete_task',
    title: 'Delete a task',
    description: 'Deletes a task for good.',
    inputSchema: deleteTaskArgs,
    outputSchema: taskOutcome,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    scope: 'write',
    async run(tasks, args) {
      const ref = taskIdOf(args.task_id)
      const expected = args.expected_version
      const deleted = done(ref, await tasks.delete(ref, condition(expected)), expected)
      return { task_id: deleted.number, id: deleted.id, status: 'deleted', title: deleted.title }
    },
  }),
] as const

/** A database failure, for the door's log (the model is told only to retry). */
export type ToolFailureLog = (error: DatabaseError) => void

/** The request's log line for a tool's database failure, with its request id. */
export const logToolFailure =
  (c: Context<AppEnv>): ToolFailureLog =>
  (error) =>
    console.error(
      JSON.stringify({
        level: 'error',
        message: 'database failure',
        requestId: c.get('requestId'),
        error: String(error.cause),
      }),
    )

/**
 * Runs `tool` for the service's user with arguments its inputSchema already validated. A `user_id`
 * naming anyone else is refused before anything is read or written; a refusal, a Problem or a
 * database failure becomes a result the model reads (isError), never a failed request.
 */
export async function runTool<Args extends z.ZodObject>(
  tool: TaskTool<Args>,
  tasks: TaskService,
  args: z.output<Args>,
  log: ToolFailureLog,
): Promise<ToolResult> {
  const claimed = (args as { user_id?: unknown }).user_id
  if (claimed !== undefined && claimed !== tasks.userId) {
    return {
      isError: true,
      message:
        "user_id is not the signed-in user's id: tasks always belong to the user who authorized this app. Omit user_id.",
    }
  }
  try {
    return { isError: false, structured: await tool.run(tasks, args) }
  } catch (error) {
    if (error instanceof ToolRefusal || error instanceof Problem) return { isError: true, message: error.message }
    if (error instanceof DatabaseError) {
      log(error)
      return { isError: true, message: 'The task database is unavailable; try again in a few seconds.' }
    }
    throw error
  }
}

/**
 * Runs the tool a model named, with the arguments it wrote (chat: nothing validated them yet). An
 * unknown name or invalid arguments are refusals the model reads, as a tool's own are.
 */
export function callTool(tasks: TaskService, name: string, args: unknown, log: ToolFailureLog): Promise<ToolResult> {
  const found = TASK_TOOLS.find((candidate) => candidate.name === name) as TaskTool | undefined
  if (found === undefined) {
    const names = TASK_TOOLS.map((candidate) => candidate.name).join(', ')
    return Promise.resolve({ isError: true, message: `There is no tool named ${name}; the tools are ${names}.` })
  }
  const parsed = found.inputSchema.safeParse(args)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'arguments'}: ${issue.message}`)
    return Promise.resolve({ isError: true, message: `Invalid arguments for ${name}: ${issues.join('; ')}.` })
  }
  return runTool(found, tasks, parsed.data, log)
}
