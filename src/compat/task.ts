/** The task as the FastAPI backend showed it: snake_case, and the per-user number as `id`. */
import * as z from 'zod'
import { task as model, type Task } from '../tasks/model'
import { FREQUENCY_NAMES } from './requests'

const { shape } = model

/** What every /api route answers a task with: the model's fields (src/tasks/model.ts), renamed. */
export const apiTask = z
  .strictObject({
    id: shape.number,
    user_id: z.string().meta({ description: "The token's `sub`." }),
    title: shape.title,
    description: shape.description.nullable().meta({ description: 'null when empty.' }),
    completed: shape.completed,
    priority: shape.priority,
    tags: shape.tags,
    due_date: shape.dueAt,
    created_at: shape.createdAt,
    updated_at: shape.updatedAt,
    completed_at: shape.completedAt,
    recurrence: z.enum(FREQUENCY_NAMES).meta({
      description: 'How the task repeats; its weekdays, until and count are on the main API (`GET /tasks/{id}`).',
    }),
    recurrence_interval: shape.recurrence
      .unwrap()
      .shape.interval.nullable()
      .meta({ description: 'null without a rule.' }),
    time_zone: shape.timeZone,
    next_task_id: shape.nextTaskNumber.meta({
      description: "The next occurrence's `id` (its number), once completing this task created it; null otherwise.",
    }),
    remind_at: shape.remindAt,
  })
  .meta({ description: "A task as the FastAPI backend showed it; `id` is the main API's `number`." })
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
  recurrence: task.recurrence?.frequency ?? 'none',
  recurrence_interval: task.recurrence?.interval ?? null,
  time_zone: task.timeZone,
  next_task_id: task.nextTaskNumber,
  remind_at: task.remindAt,
})
