/**
 * The event log's entries in the OpenAPI document (src/openapi/operations.ts): GET /tasks/events and
 * GET /tasks/{id}/events, and their /api twins, each with and without `{user_id}`.
 */
import type * as z from 'zod'
import { apiEventPage } from '../compat/events'
import { COMPAT_TAG } from '../compat/operations'
import type { OperationSpec } from '../openapi/operations'
import { eventPage, taskEvent } from './model'

const LOG =
  'Every change of your tasks, through any door (this API, /api, MCP, chat, or the server creating a ' +
  'recurring task’s next occurrence), oldest first. Page with `after`: pass the previous page’s `next`, ' +
  'and ask again at once while `hasMore`. Events are kept for a configured number of days (docs/events.md).'
const HISTORY = 'The changes of one task, oldest first; also once it is deleted, until its events age out.'

const api = (name: string, summary: string, description: string, problems: OperationSpec['problems'] = []) => ({
  tag: COMPAT_TAG,
  summary,
  description,
  success: { status: 200, description: 'One page of events.', schema: apiEventPage },
  problems,
  name,
})

const API_ENTRIES = {
  '/events': api('ListEvents', 'List the changes of your tasks', LOG.replaceAll('`hasMore`', '`has_more`')),
  '/tasks/{id}/events': api('ListTaskEvents', 'List the changes of one task', HISTORY, ['not-found']),
}

export const EVENT_OPERATIONS: Record<string, OperationSpec> = {
  'GET /tasks/events': {
    operationId: 'listEvents',
    tag: 'Tasks',
    summary: 'List the changes of your tasks',
    description: LOG,
    success: { status: 200, description: 'One page of events.', schema: eventPage },
  },
  'GET /tasks/{id}/events': {
    operationId: 'listTaskEvents',
    tag: 'Tasks',
    summary: 'List the changes of one task',
    description: HISTORY,
    success: { status: 200, description: 'One page of the task’s events.', schema: eventPage },
    problems: ['forbidden', 'not-found'],
  },
  ...Object.fromEntries(
    Object.entries(API_ENTRIES).flatMap(([path, { name, ...spec }]) => [
      [`GET /api${path}`, { ...spec, operationId: `api${name}` }],
      [`GET /api/{user_id}${path}`, { ...spec, operationId: `api${name}ByUser` }],
    ]),
  ),
}

/** Schemas worth a name in `components.schemas`. */
export const EVENT_SCHEMA_NAMES: [z.ZodType, string][] = [
  [taskEvent, 'TaskEvent'],
  [eventPage, 'EventPage'],
  [apiEventPage, 'ApiEventPage'],
]
