/**
 * The task: its zod schema is the one source of the `Task` type, of the response schema the OpenAPI
 * document shows, and of the limits the request schemas (requests.ts) enforce. The CHECK constraints
 * in migrations/ state the same limits in SQL; test/tasks/model.test.ts keeps the two equal.
 */
import * as z from 'zod'
import { FREQUENCIES, MAX_COUNT, MAX_INTERVAL, WEEKDAYS } from '../recurrence/rule'

export const PRIORITIES = ['low', 'medium', 'high'] as const

/** Lengths count characters (code points), as SQLite's length() in the CHECK constraints does. */
export const LIMITS = {
  title: { min: 1, max: 200 },
  description: { max: 1000 },
  tag: { min: 1, max: 32 },
  tags: { max: 10 },
} as const

// Timestamps as the API returns them (created, updated and due alike), always in UTC.
export const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

const instant = z
  .string()
  .regex(INSTANT)
  .meta({ format: 'date-time', description: 'UTC with milliseconds, e.g. 2026-05-01T09:30:00.000Z.' })

/** A task, as every response shows it. It only describes: requests are validated by requests.ts. */
export const task = z
  .strictObject({
    id: z.string().meta({ format: 'uuid', description: 'Made by the server.' }),
    title: z.string().meta({ minLength: LIMITS.title.min, maxLength: LIMITS.title.max }),
    description: z.string().meta({ maxLength: LIMITS.description.max }),
    completed: z.boolean(),
    priority: z.enum(PRIORITIES),
    dueAt: instant.nullable(),
    tags: z.array(z.string().meta({ minLength: LIMITS.tag.min, maxLength: LIMITS.tag.max })).max(LIMITS.tags.max),
    createdAt: instant,
    updatedAt: instant,
    completedAt: instant.nullable().meta({ description: 'When the task was completed; null while it is open.' }),
    version: z.int().min(1).meta({ description: '1 when created, +1 on every write; the ETag is `"v<version>"`.' }),
    number: z.int().min(1).meta({
      description: 'Your 1, 2, 3... in creation order, never reused or changed; the `id` on the /api routes.',
    }),
    recurrence: z
      .strictObject({
        frequency: z.enum(FREQUENCIES),
        interval: z.int().min(1).max(MAX_INTERVAL),
        weekdays: z.array(z.enum(WEEKDAYS)).min(1).nullable().meta({ description: 'Weekly only.' }),
        until: instant.nullable(),
        count: z.int().min(1).max(MAX_COUNT).nullable(),
      })
      .nullable()
      .meta({ description: 'How the task repeats: RFC 5545 RRULE semantics (docs/recurrence-and-reminders.md).' }),
    timeZone: z.string().meta({ description: 'IANA time zone whose wall-clock time the occurrences keep.' }),
    nextTaskId: z.string().nullable().meta({
      format: 'uuid',
      description: 'The next occurrence, which completing this recurring task created; null until then.',
    }),
    nextTaskNumber: z.int().min(1).nullable().meta({
      description:
        "The next occurrence's `number` (the /api routes' `next_task_id`); null until then, or once it is deleted.",
    }),
    remindAt: instant.nullable().meta({ description: 'When to remind the user (by Web Push, if subscribed).' }),
  })
  .meta({ description: 'A task, as every endpoint returns it.' })

export type Task = z.output<typeof task>

/** The fields a client writes; the others are set by the server. */
export type TaskFields = Pick<
  Task,
  'title' | 'description' | 'completed' | 'priority' | 'dueAt' | 'tags' | 'recurrence' | 'timeZone' | 'remindAt'
>
