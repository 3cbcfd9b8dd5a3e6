/**
 * The in-app notification inbox: what a notification is, in the main API's shape and in the /api
 * routes' (snake_case), the requests both take, and the per-user bound. A reminder that falls due
 * becomes a notification (src/reminders/), whether or not it is also pushed.
 */
import * as z from 'zod'
import { INSTANT, LIMITS } from '../tasks/model'

/** Notifications one user keeps; past it, the oldest read ones go first, then the oldest. */
export const MAX_NOTIFICATIONS_PER_USER = 100
/** Ids one mark-read request may name. */
export const MAX_IDS_PER_REQUEST = 500

export const NOTIFICATION_TYPES = ['reminder'] as const

/** A notification as D1 stores it (migrations/0012_notifications.sql). */
export interface NotificationRow {
  number: number
  type: (typeof NOTIFICATION_TYPES)[number]
  task_id: string | null
  task_number: number | null
  title: string
  message: string
  is_read: 0 | 1
  sent_at: string
}

const instant = z.string().regex(INSTANT).meta({ format: 'date-time' })
const id = z.int().min(1).meta({ description: 'Your 1, 2, 3... in the order they were sent, never reused.' })
const title = z.string().meta({
  minLength: LIMITS.title.min,
  maxLength: LIMITS.title.max,
  description: "The task's title when it was sent.",
})
const message = z
  .string()
  .meta({ maxLength: LIMITS.description.max, description: "The task's description when it was sent." })

/** A notification, as the main API shows it. */
export const notification = z
  .strictObject({
    id,
    type: z.enum(NOTIFICATION_TYPES),
    taskId: z.string().nullable().meta({ format: 'uuid', description: 'The task it is about (`GET /tasks/{id}`).' }),
    taskNumber: z.int().min(1).nullable().meta({ description: "That task's `number`." }),
    title,
    message,
    isRead: z.boolean(),
    sentAt: instant,
  })
  .meta({ description: 'A notification in your in-app inbox.' })
export type Notification = z.output<typeof notification>

/** A notification as the FastAPI backend's family showed it, for the /api routes. */
export const apiNotification = z
  .strictObject({
    id,
    user_id: z.string().meta({ description: "The token's `sub`." }),
    task_id: z.int().min(1).nullable().meta({ description: "The task's `id` on the /api routes (its number)." }),
    type: z.enum(NOTIFICATION_TYPES),
    title,
    message,
    is_read: z.boolean(),
    sent_at: instant,
  })
  .meta({ description: 'A notification in your in-app inbox, snake_case.' })
export type ApiNotification = z.output<typeof apiNotification>

export const toNotification = (row: NotificationRow): Notification => ({
  id: row.number,
  type: row.type,
  taskId: row.task_id,
  taskNumber: row.task_number,
  title: row.title,
  message: row.message,
  isRead: row.is_read === 1,
  sentAt: row.sent_at,
})

/** `row`, which belongs to `userId` (the statement that read it was scoped by it), in the /api shape. */
export const toApiNotification = (row: NotificationRow, userId: string): ApiNotification => ({
  id: row.number,
  user_id: userId,
  task_id: row.task_number,
  type: row.type,
  title: row.title,
  message: row.message,
  is_read: row.is_read === 1,
  sent_at: row.sent_at,
})

/** Ids to mark read: unknown ones, and other users', are ignored. */
export const notificationIds = z
  .array(z.int().min(1))
  .max(MAX_IDS_PER_REQUEST)
  .meta({ description: `Up to ${MAX_IDS_PER_REQUEST} notification ids; ids that are not yours are ignored.` })

// Responses of the main API.
export const notificationList = z.strictObject({ items: z.array(notification).meta({ description: 'Newest first.' }) })
export const unreadCount = z.strictObject({ unreadCount: z.int().min(0) })
export const marked = z.strictObject({
  marked: z.int().min(0).meta({ description: 'How many of your unread notifications this marked read.' }),
})

// Responses of the /api routes beside the notification itself.
export const apiNotificationDeleted = z.strictObject({ message: z.literal('Notification deleted') })

// Requests of the main API.
export const listQuery = z.strictObject({
  unreadOnly: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('true: only the unread ones.'),
})
export const markReadBody = z.strictObject({ ids: notificationIds })
