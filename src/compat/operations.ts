/**
 * The /api routes' entries in the OpenAPI document (src/openapi/operations.ts), under their own tag:
 * each route once with `{user_id}` in the path and once without.
 */
import * as z from 'zod'
import { apiNotification, apiNotificationDeleted, MAX_NOTIFICATIONS_PER_USER, marked } from '../notifications/model'
import type { OperationSpec } from '../openapi/operations'
import { MAX_LIST_SIZE } from './requests'
import { apiTask } from './task'

// One word: Swagger UI puts the tag into element ids.
export const COMPAT_TAG = 'FastAPI'

/** The tag's entry in the document's `tags`. */
export const COMPAT_TAG_INFO = {
  name: COMPAT_TAG,
  description:
    "The FastAPI backend's contract, for the frontends written against it: every route with and without " +
    '`{user_id}`, snake_case tasks whose `id` is their number, the completion toggle. See docs/fastapi-compat.md.',
}

const apiTaskList = z
  .union([z.array(apiTask), z.strictObject({ tasks: z.array(apiTask), total: z.int().min(0) })])
  .meta({
    description:
      'A plain array, or `{ "tasks": [...], "total": n }` with API_LIST_FORMAT=object; `total` counts every task the filters match.',
  })

const deleted = z.strictObject({ message: z.literal('Task deleted') })

/** What every write of one task answers: the update, the patch and the three toggles. */
const written = { status: 200, description: 'The task as it now is.', schema: apiTask, headers: ['ETag'] } as const
/** Completing a recurring task creates its successor; a write that kept losing races is retryable. */
const writeProblems = ['quota-exceeded', 'write-conflict'] as const

type Entry = Omit<OperationSpec, 'tag' | 'operationId'> & { name: string }

const ENTRIES: Record<string, Entry> = {
  'GET ': {
    name: 'ListTasks',
    summary: 'List your tasks',
    description: `Without \`limit\`, all of them, up to ${MAX_LIST_SIZE} per response; \`skip\` and \`limit\` page through more.`,
    success: { status: 200, description: 'Your tasks.', schema: apiTaskList },
  },
  'POST ': {
    name: 'CreateTask',
    summary: 'Create a task',
    success: { status: 201, description: 'The task created.', schema: apiTask, headers: ['ETag'] },
    problems: ['quota-exceeded'],
  },
  'GET /{id}': {
    name: 'GetTask',
    summary: 'Get one of your tasks',
    success: { status: 200, description: 'The task.', schema: apiTask, headers: ['ETag'] },
    alsoSuccess: [{ status: 304, description: 'Your copy is current (`If-None-Match`); no body.', headers: ['ETag'] }],
  },
  'PUT /{id}': {
    name: 'UpdateTask',
    summary: 'Change some fields of a task',
    description: 'Every field optional, as the frontends use it; an empty body changes nothing.',
    success: written,
    problems: writeProblems,
  },
  'PATCH /{id}': {
    name: 'PatchTask',
    summary: 'Change some fields of a task (the same as PUT)',
    success: written,
    problems: writeProblems,
  },
  'DELETE /{id}': {
    name: 'DeleteTask',
    summary: 'Delete a task',
    success: { status: 200, description: 'Deleted.', schema: deleted },
  },
  'PATCH /{id}/complete': {
    name: 'ToggleTask',
    summary: 'Toggle completion',
    description: 'No body (or `{}`) flips `completed`; `{"completed": true|false}` sets it.',
    success: written,
    problems: writeProblems,
  },
  'PATCH /{id}/toggle': {
    name: 'ToggleTaskPatch',
    summary: 'Toggle completion (the same as PATCH .../complete)',
    success: written,
    problems: writeProblems,
  },
  'POST /{id}/toggle': {
    name: 'ToggleTaskPost',
    summary: 'Toggle completion (the same as PATCH .../complete)',
    success: written,
    problems: writeProblems,
  },
}

/** The notification inbox (src/compat/notifications.ts), under `/notifications`. */
const NOTIFICATION_ENTRIES: Record<string, Entry> = {
  'GET ': {
    name: 'ListNotifications',
    summary: 'Your in-app notifications, newest first',
    description:
      `One for each reminder that fell due. You keep at most ${MAX_NOTIFICATIONS_PER_USER}: ` +
      'past that, the oldest read ones go first, then the oldest.',
    success: { status: 200, description: 'All of them, or the unread ones.', schema: z.array(apiNotification) },
  },
  'GET /unread-count': {
    name: 'CountUnreadNotifications',
    summary: 'How many of your notifications are unread',
    success: {
      status: 200,
      description: 'The count.',
      schema: z.strictObject({ unread_count: z.int().min(0) }),
    },
  },
  'PATCH /mark-read': {
    name: 'MarkNotificationsRead',
    summary: 'Mark some of your notifications read',
    description: 'Ids that are not yours, or no longer exist, are ignored.',
    success: { status: 200, description: 'How many were unread and are now read.', schema: marked },
  },
  'PATCH /mark-all-read': {
    name: 'MarkAllNotificationsRead',
    summary: 'Mark all your notifications read',
    success: { status: 200, description: 'How many were unread and are now read.', schema: marked },
  },
  'DELETE /{id}': {
    name: 'DeleteNotification',
    summary: 'Delete one of your notifications',
    success: { status: 200, description: 'Deleted.', schema: apiNotificationDeleted },
    problems: ['not-found'],
  },
}

/** Each entry under `/api/<resource>` and `/api/{user_id}/<resource>`, keyed by `METHOD /path`. */
const both = (resource: string, entries: Record<string, Entry>): [string, OperationSpec][] =>
  Object.entries(entries).flatMap(([key, { name, ...spec }]) => {
    const [method, suffix] = key.split(' ') as [string, string]
    return [
      [`${method} /api/${resource}${suffix}`, { ...spec, operationId: `api${name}`, tag: COMPAT_TAG }],
      [`${method} /api/{user_id}/${resource}${suffix}`, { ...spec, operationId: `api${name}ByUser`, tag: COMPAT_TAG }],
    ]
  })

/** Keyed by `METHOD /path`, as OPERATIONS is. */
export const COMPAT_OPERATIONS: Record<string, OperationSpec> = Object.fromEntries([
  ...both('tasks', ENTRIES),
  ...both('notifications', NOTIFICATION_ENTRIES),
])

/** Schemas worth a name in `components.schemas`. */
export const COMPAT_SCHEMA_NAMES: [z.ZodType, string][] = [
  [apiTask, 'ApiTask'],
  [apiTaskList, 'ApiTaskList'],
  [apiNotification, 'ApiNotification'],
]
