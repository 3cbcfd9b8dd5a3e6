/**
 * A task event (docs/events.md): one change of one task, as the log stores it (migrations/0014) and
 * the API shows it. The zod schema is the one source of the type and of the OpenAPI schema.
 */
import * as z from 'zod'
import { INSTANT, type Task, task } from '../tasks/model'

export const EVENT_TYPES = ['task.created', 'task.updated', 'task.completed', 'task.reopened', 'task.deleted'] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** Where a change came from: a door of the API, or the server itself (a recurring task's successor). */
export const ORIGINS = ['rest', 'api', 'mcp', 'chat', 'system'] as const
export type Origin = (typeof ORIGINS)[number]

export const taskEvent = z
  .strictObject({
    id: z.string().meta({ format: 'uuid', description: 'Unique and stable: the `webhook-id` of its delivery.' }),
    seq: z.int().min(1).meta({ description: 'Strictly increasing per user; page with `after`.' }),
    type: z.enum(EVENT_TYPES),
    taskId: task.shape.id,
    taskNumber: task.shape.number,
    task: task.meta({ description: 'The task after the change; for task.deleted, as it was.' }),
    door: z.enum(ORIGINS).meta({
      description: 'rest (/tasks), api (/api), mcp, chat, or system (a recurring task’s next occurrence).',
    }),
    clientId: z
      .string()
      .nullable()
      .meta({ description: 'The OAuth client of an access token; null for a session token.' }),
    createdAt: z.string().regex(INSTANT).meta({ format: 'date-time', description: 'When the change was made.' }),
  })
  .meta({ description: 'One change of one task.' })
export type TaskEvent = z.output<typeof taskEvent>

/** A page of events, oldest first. */
export const eventPage = z.strictObject({
  items: z.array(taskEvent),
  next: z.int().min(0).meta({
    description: 'The `after` of the next request: the last event’s `seq`, or this one’s `after` when none came.',
  }),
  hasMore: z.boolean().meta({ description: 'More events follow now; when false, poll again later from `next`.' }),
})

/** A row of task_events, as the repo reads it. */
export interface EventRow {
  user_id: string
  seq: number
  id: string
  type: EventType
  task_id: string
  task_number: number
  task: string
  door: Origin
  client_id: string | null
  created_at: string
}

export const toEvent = (row: EventRow): TaskEvent => ({
  id: row.id,
  seq: row.seq,
  type: row.type,
  taskId: row.task_id,
  taskNumber: row.task_number,
  task: JSON.parse(row.task) as Task,
  door: row.door,
  clientId: row.client_id,
  createdAt: row.created_at,
})

/**
 * Who makes a change, as its event records it. Every write of the repos sets it on the task row
 * (`changed_by`, migrations/0014), where the event triggers read it; a delete's event takes it bound.
 */
export interface Actor {
  door: Origin
  /** The OAuth client of an access token; null for a session token or the server itself. */
  clientId: string | null
  /** The event is for webhook delivery (WEBHOOK_URL is set): it starts as pending. */
  deliver: boolean
}

/** The `changed_by` value of a write by `actor`. */
export const changedBy = ({ door, clientId, deliver }: Actor): string =>
  JSON.stringify({ door, client: clientId, deliver })

/** The server itself, making a recurring task's next occurrence for a change by `actor`. */
export const systemActor = (actor: Actor): Actor => ({ door: 'system', clientId: null, deliver: actor.deliver })
