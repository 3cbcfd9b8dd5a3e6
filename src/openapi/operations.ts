/**
 * What the routes cannot say about themselves: a name, a summary, the success responses, and the
 * problems a handler raises on its own. Parameters, bodies, authentication and the problems of
 * their middleware come from the routes (src/openapi/annotate.ts). A route missing here, or an
 * entry with no route, stops the document from being built, and test/openapi/document.test.ts fails.
 */
import type * as z from 'zod'
import { CHAT_OPERATIONS, CHAT_SCHEMA_NAMES, type CHAT_TAG } from '../chat/operations'
import { COMPAT_OPERATIONS, COMPAT_SCHEMA_NAMES, type COMPAT_TAG } from '../compat/operations'
import { EVENT_OPERATIONS, EVENT_SCHEMA_NAMES } from '../events/operations'
import type { ResponseHeader } from '../headers'
import { MAX_NOTIFICATIONS_PER_USER, marked, notification, notificationList, unreadCount } from '../notifications/model'
import type { ProblemSlug } from '../problem'
import { task } from '../tasks/model'
import { taskInput, taskPatch } from '../tasks/requests'
import {
  accountExport,
  bulkDeleted,
  changesPage,
  health,
  liveTicket,
  me,
  openApiDocument,
  problem,
  pushPublicKey,
  pushSubscription,
  pushSubscriptionList,
  taskPage,
} from './schemas'

export interface SuccessResponse {
  status: 101 | 200 | 201 | 204 | 304
  description: string
  /** The JSON body; none for 101, 204 and 304. */
  schema?: z.ZodType
  headers?: readonly ResponseHeader[]
}

export interface OperationSpec {
  operationId: string
  tag:
    | 'Tasks'
    | 'Notifications'
    | 'Account'
    | 'Push'
    | 'Service'
    | 'Documentation'
    | typeof CHAT_TAG
    | typeof COMPAT_TAG
  summary: string
  description?: string
  success: SuccessResponse
  /** Other non-error answers, e.g. 304. */
  alsoSuccess?: readonly SuccessResponse[]
  /** Problems the handler raises itself, beyond those of the middleware it runs behind. */
  problems?: readonly ProblemSlug[]
}

/** Schemas worth a name in `components.schemas`; any other is written inline. */
export const SCHEMA_NAMES = new Map<z.ZodType, string>([
  [task, 'Task'],
  [taskPage, 'TaskPage'],
  [changesPage, 'ChangesPage'],
  [taskInput, 'TaskInput'],
  [taskPatch, 'TaskPatch'],
  [problem, 'Problem'],
  [me, 'Me'],
  [notification, 'Notification'],
  ...COMPAT_SCHEMA_NAMES,
  ...EVENT_SCHEMA_NAMES,
  ...CHAT_SCHEMA_NAMES,
])

const OWNED: readonly ProblemSlug[] = ['forbidden', 'not-found']

/** Keyed by `METHOD /path`, with OpenAPI's `{param}` path syntax. */
export const OPERATIONS: Record<string, OperationSpec> = {
  'GET /health': {
    operationId: 'getHealth',
    tag: 'Service',
    summary: 'Check that the worker is up',
    description: 'Reads no data and needs no token.',
    success: { status: 200, description: 'The worker is up.', schema: health },
  },
  'GET /me': {
    operationId: 'getMe',
    tag: 'Account',
    summary: 'Who the token says you are',
    success: { status: 200, description: 'The identity every task request is scoped to.', schema: me },
  },
  'DELETE /me': {
    operationId: 'eraseAccount',
    tag: 'Account',
    summary: 'Erase everything stored for you',
    description:
      'Tasks, reminders, notifications, push subscriptions, deletions kept for sync, Idempotency-Key records, conversations with the assistant, counters and sync state, in one transaction. ' +
      'Idempotent. Afterwards old sync tokens are answered 410, and a full sync starts from nothing.',
    success: { status: 204, description: 'Nothing is stored for you any more.' },
  },
  'GET /me/export': {
    operationId: 'exportAccount',
    tag: 'Account',
    summary: 'Download all your tasks, their events, your notifications and conversations',
    description: 'One JSON document, sent as an attachment and streamed, however much you store.',
    success: {
      status: 200,
      description:
        'Your tasks, in the order they were last written, then your event log, notifications and conversations with the assistant, oldest first.',
      schema: accountExport,
      headers: ['Content-Disposition'],
    },
  },
  'GET /tasks': {
    operationId: 'listTasks',
    tag: 'Tasks',
    summary: 'List your tasks, newest first',
    description:
      "Keyset pagination: pass the previous page's `nextCursor` as `cursor`. A cursor is bound to the filters it was made with.",
    success: { status: 200, description: 'One page of your tasks.', schema: taskPage },
  },
  'POST /tasks': {
    operationId: 'createTask',
    tag: 'Tasks',
    summary: 'Create a task',
    description:
      'With `Idempotency-Key`, a retry with the same key and body within 24 hours gets the first response again ' +
      '(marked `Idempotent-Replayed: true`) and creates nothing; the same key with a different body is a 422. ' +
      'Keys are per user. Concurrent requests with one key create one task and all get it.',
    success: {
      status: 201,
      description: 'The task created, or the one this `Idempotency-Key` created before.',
      schema: task,
      headers: ['Location', 'ETag', 'Idempotent-Replayed'],
    },
    problems: ['quota-exceeded', 'idempotency-key-reused'],
  },
  'DELETE /tasks': {
    operationId: 'deleteCompletedTasks',
    tag: 'Tasks',
    summary: 'Delete all your completed tasks',
    description: 'Requires `completed=true`; each deleted task leaves a tombstone for the sync feed.',
    success: { status: 200, description: 'How many were deleted.', schema: bulkDeleted },
  },
  'GET /tasks/changes': {
    operationId: 'listChanges',
    tag: 'Tasks',
    summary: 'What changed since a sync token',
    description:
      'Without `since`, everything (a full sync). Apply `tasks` and `deleted`, keep `token`, and ask again at once while `hasMore`.',
    success: { status: 200, description: 'Changes after the token, oldest first.', schema: changesPage },
    problems: ['sync-token-expired'],
  },
  'POST /tasks/live/ticket': {
    operationId: 'createLiveTicket',
    tag: 'Tasks',
    summary: 'A ticket to open a live connection with',
    description:
      "Browsers cannot send `Authorization` with a WebSocket: open `url` instead. Single-use, valid for `expiresIn` seconds (at most 60, never past the token's expiry). An OAuth access token needs tasks:read.",
    success: { status: 201, description: 'The ticket, and the URL to open with it.', schema: liveTicket },
  },
  'GET /tasks/live': {
    operationId: 'openLiveConnection',
    tag: 'Tasks',
    summary: 'Hear when your tasks change (WebSocket)',
    description:
      'A WebSocket (`Upgrade: websocket`), opened with `?ticket=` or `Authorization: Bearer`. The server sends `{"type":"ready","token":…}` at once and `{"type":"changed","token":…}` after each change to your tasks, ' +
      'where `token` is the sync token your tasks are now at: when it differs from yours, pull GET /tasks/changes with your own. It sends no task data. `ping` is answered `pong`; ' +
      "the socket closes with 4001 when the token it was opened with expires, and 4002 when the account is erased. A page's origin must be in `CORS_ORIGINS`. See docs/live.md.",
    success: { status: 101, description: 'Switching protocols: the WebSocket is open.' },
    problems: ['live-connection-limit'],
  },
  'GET /tasks/{id}': {
    operationId: 'getTask',
    tag: 'Tasks',
    summary: 'Get one of your tasks',
    success: { status: 200, description: 'The task.', schema: task, headers: ['ETag'] },
    alsoSuccess: [{ status: 304, description: 'Your copy is current (`If-None-Match`); no body.', headers: ['ETag'] }],
    problems: OWNED,
  },
  'PUT /tasks/{id}': {
    operationId: 'replaceTask',
    tag: 'Tasks',
    summary: 'Replace a task',
    description:
      'Omitted optional fields return to their defaults. Completing a recurring task creates its next occurrence (`nextTaskId`).',
    success: { status: 200, description: 'The task as it now is.', schema: task, headers: ['ETag'] },
    problems: [...OWNED, 'quota-exceeded', 'write-conflict'],
  },
  'PATCH /tasks/{id}': {
    operationId: 'updateTask',
    tag: 'Tasks',
    summary: 'Change some fields of a task',
    description:
      'Any subset of the writable fields, at least one. Completing a recurring task creates its next occurrence (`nextTaskId`) in the same transaction, once.',
    success: { status: 200, description: 'The task as it now is.', schema: task, headers: ['ETag'] },
    problems: [...OWNED, 'quota-exceeded', 'write-conflict'],
  },
  'DELETE /tasks/{id}': {
    operationId: 'deleteTask',
    tag: 'Tasks',
    summary: 'Delete a task',
    success: { status: 204, description: 'Deleted.' },
    problems: OWNED,
  },
  'GET /notifications': {
    operationId: 'listNotifications',
    tag: 'Notifications',
    summary: 'Your in-app notifications, newest first',
    description:
      'One for each reminder that fell due, whether or not it was also pushed. ' +
      `You keep at most ${MAX_NOTIFICATIONS_PER_USER}: past that, the oldest read ones go first, then the oldest.`,
    success: { status: 200, description: 'All of them, or the unread ones.', schema: notificationList },
  },
  'GET /notifications/unread-count': {
    operationId: 'countUnreadNotifications',
    tag: 'Notifications',
    summary: 'How many of your notifications are unread',
    success: { status: 200, description: 'The count.', schema: unreadCount },
  },
  'POST /notifications/read': {
    operationId: 'markNotificationsRead',
    tag: 'Notifications',
    summary: 'Mark some of your notifications read',
    description: 'Ids that are not yours, or no longer exist, are ignored.',
    success: { status: 200, description: 'How many were unread and are now read.', schema: marked },
  },
  'POST /notifications/read-all': {
    operationId: 'markAllNotificationsRead',
    tag: 'Notifications',
    summary: 'Mark all your notifications read',
    success: { status: 200, description: 'How many were unread and are now read.', schema: marked },
  },
  'DELETE /notifications/{id}': {
    operationId: 'deleteNotification',
    tag: 'Notifications',
    summary: 'Delete one of your notifications',
    success: { status: 204, description: 'Deleted.' },
  },
  'GET /push/public-key': {
    operationId: 'getPushPublicKey',
    tag: 'Push',
    summary: 'The VAPID key for pushManager.subscribe',
    description:
      'Needs no token. Pass it as `applicationServerKey`; then POST the subscription to /me/push-subscriptions.',
    success: {
      status: 200,
      description: 'The application server key (base64url, uncompressed P-256).',
      schema: pushPublicKey,
    },
    problems: ['push-disabled'],
  },
  'GET /me/push-subscriptions': {
    operationId: 'listPushSubscriptions',
    tag: 'Push',
    summary: 'Your push subscriptions',
    success: { status: 200, description: 'The browsers your reminders are pushed to.', schema: pushSubscriptionList },
  },
  'POST /me/push-subscriptions': {
    operationId: 'subscribeToPush',
    tag: 'Push',
    summary: 'Send your reminders to this browser',
    description:
      "The browser's `PushSubscription.toJSON()`. Subscribing an endpoint again renews its keys (200). The endpoint must be on a push service this server sends to. " +
      'A browser belongs to one account: an endpoint another account had moves to you, and it loses it. Delete the subscription when the user signs out.',
    success: { status: 201, description: 'Subscribed.', schema: pushSubscription },
    alsoSuccess: [{ status: 200, description: 'Already subscribed; the keys are renewed.', schema: pushSubscription }],
    problems: ['push-disabled', 'push-endpoint-refused', 'push-subscription-limit'],
  },
  'DELETE /me/push-subscriptions': {
    operationId: 'unsubscribeFromPush',
    tag: 'Push',
    summary: 'Stop pushing to a browser',
    description: 'By `endpoint`, as the subscription gave it.',
    success: { status: 204, description: 'Unsubscribed.' },
    problems: ['not-found'],
  },
  'GET /openapi.json': {
    operationId: 'getOpenApiDocument',
    tag: 'Documentation',
    summary: 'This document',
    success: { status: 200, description: 'The OpenAPI 3.1 document.', schema: openApiDocument },
  },
  ...EVENT_OPERATIONS,
  ...COMPAT_OPERATIONS,
  ...CHAT_OPERATIONS,
}
