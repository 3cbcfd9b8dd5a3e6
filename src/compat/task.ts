/** The task as the FastAPI backend showed it: snake_case, and the per-user number as `id`. */
import * as z from 'zod'
import { LIMITS, PRIORITIES, type Task } from '../tasks/model'

const instant = z.string().meta({ format: 'date-time', description: 'UTC with milliseconds.' })

/** What every /api route answers a task with (for the OpenAPI document and the tests). */
export const apiTask = z
  .strictObject({
    id: z
      .int()
      .min(1)
      .meta({ description: "Your 1, 2, 3... in creation order; never reused. The main API's `number`." }),
    user_id: z.string().meta({ description: "The token's `sub`." }),
    title: z.string().meta({ minLength: LIMITS.title.min, maxLength: LIMITS.title.max }),
    description: z.string().nullable().meta({ description: 'null when empty.' }),
    completed: z.boolean(),
    priority: z.enum(PRIORITIES),
    tags: z.array(z.string()).max(LIMITS.tags.max),
    due_date: instant.nullable(),
    created_at: instant,
    updated_at: instant,
    completed_at: instant.nullable(),
  })
  .meta({ description: 'A task as the FastAPI backend showed it.' })
export type ApiTask = z.output<typeof apiTask>

/** `task`, which belongs to `userId` (every statement that read it was scoped by it), in the FastAPI shape. */
export const toApiTask = (task: Task, userId: string): ApiTask => ({
  id: task.number,
  user_id: userId,
  title: task.title,
  description: task.description === '' ? null : task.description,
  completed: task.completed,
  priority: task.priority,
  tags: task.tags,
  due_date: task.dueAt,
  created_at: task.createdAt,
  updated_at: task.updatedAt,
  completed_at: task.completedAt,
})
