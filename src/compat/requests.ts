/**
 * What the FastAPI-contract frontends send: snake_case bodies and the list's query parameters,
 * mapped onto the main API's own schemas (src/tasks/requests.ts), so that the limits are the same.
 * Unknown fields and parameters are dropped, as FastAPI's models dropped them.
 */
import * as z from 'zod'
import type { ListOptions } from '../tasks/list-repo'
import { PRIORITIES } from '../tasks/model'
import { type SortField, type TaskInput, type TaskPatch, taskInput, taskPatch } from '../tasks/requests'

/** Most tasks one list response holds: what a list without `limit` returns at most. */
export const MAX_LIST_SIZE = 1000
const MAX_SKIP = 1_000_000
const MAX_SEARCH_LENGTH = 100

const fields = taskPatch.shape
const oneOf = (values: readonly string[]) => ({ error: `must be one of ${values.join(', ')}` })

// null stands for "not given", as FastAPI's Optional fields treated it, where no null can be stored.
const unlessNull = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined)

const priority = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(PRIORITIES, oneOf(PRIORITIES)))

const DATE = /^\d{4}-\d{2}-\d{2}$/
/** A date-time as the main API takes it, or a date: that day at 00:00 UTC. */
const dueDate = z
  .string()
  .transform((value) => (DATE.test(value) ? `${value}T00:00:00Z` : value))
  .pipe(fields.dueAt.unwrap().unwrap())
  .meta({ description: 'An RFC 3339 date-time, or a date (`2026-03-01`: that day at 00:00 UTC); null for none.' })

const changes = {
  title: unlessNull(fields.title.unwrap()),
  // The FastAPI backend showed an empty description as null, and took null back.
  description: fields.description
    .unwrap()
    .nullish()
    .transform((value) => (value === null ? '' : value)),
  completed: unlessNull(z.boolean()),
  priority: unlessNull(priority.meta({ description: 'low, medium or high, in any case.' })),
  tags: fields.tags
    .unwrap()
    .nullish()
    .transform((value) => (value === null ? [] : value)),
  due_date: dueDate.nullable().optional(),
}

/** POST: `title` is required; the rest take the main API's defaults. */
export const createBody = z.object({ ...changes, title: taskInput.shape.title }).transform(
  (body): TaskInput => ({
    title: body.title,
    description: body.description ?? '',
    completed: body.completed ?? false,
    priority: body.priority ?? 'medium',
    dueAt: body.due_date ?? null,
    tags: body.tags ?? [],
    // The FastAPI contract has no recurrence or reminders: the main API's defaults.
    recurrence: null,
    timeZone: 'UTC',
    remindAt: null,
  }),
)

/** PUT and PATCH alike: the fields given, none required (the frontends' PUT is a partial update). */
export const updateBody = z.object(changes).transform((body): TaskPatch => {
  const patch: TaskPatch = {}
  if (body.title !== undefined) patch.title = body.title
  if (body.description !== undefined) patch.description = body.description
  if (body.completed !== undefined) patch.completed = body.completed
  if (body.priority !== undefined) patch.priority = body.priority
  if (body.due_date !== undefined) patch.dueAt = body.due_date
  if (body.tags !== undefined) patch.tags = body.tags
  return patch
})

/** The completion toggle: no `completed` flips it, a boolean sets it. */
export const toggleBody = z.object({ completed: unlessNull(z.boolean()) })

const SORTS = {
  created_at: { field: 'createdAt', descending: true },
  updated_at: { field: 'updatedAt', descending: true },
  due_date: { field: 'dueAt', descending: false },
  priority: { field: 'priority', descending: true },
  title: { field: 'title', descending: false },
} as const satisfies Record<string, { field: SortField; descending: boolean }>
const SORT_KEYS = Object.keys(SORTS) as [keyof typeof SORTS, ...(keyof typeof SORTS)[]]
const STATUSES = ['all', 'pending', 'completed'] as const
const ORDERS = ['asc', 'desc'] as const

// A repeated parameter arrives as an array; say that rather than "expected string".
const single = () =>
  z.string({ error: (issue) => (Array.isArray(issue.input) ? 'must be given only once' : undefined) })
const keyword = <const T extends readonly [string, ...string[]]>(values: T) =>
  single()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(values, oneOf(values)))
    .optional()
const whole = (min: number, max: number) =>
  single()
    .regex(/^\d{1,7}$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`)
    .optional()

/** GET /api/.../tasks. Empty values count as absent (`?search=` from an empty search box). */
export const listParams = z
  .object({
    status: keyword(STATUSES).describe('all (the default), pending or completed.'),
    search: single()
      .refine((value) => [...value].length <= MAX_SEARCH_LENGTH, `must be at most ${MAX_SEARCH_LENGTH} characters`)
      // SQLite's text functions stop at a NUL (see src/tasks/requests.ts).
      .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters')
      .optional()
      .describe('Only tasks whose title or description contains this text, ignoring the case of ASCII letters.'),
    priority: keyword([...PRIORITIES, 'all']).describe('Only tasks of this priority; all (the default) for any.'),
    sort: keyword(SORT_KEYS).describe('created_at (the default), updated_at, due_date, priority or title.'),
    sort_by: keyword(SORT_KEYS).describe('The same as sort.'),
    order: keyword(ORDERS).describe(
      'asc or desc. Default: newest first for created_at and updated_at, high first for priority, ' +
        'soonest first for due_date, A to Z for title. Tasks without a due date come last both ways.',
    ),
    sort_order: keyword(ORDERS).describe('The same as order.'),
    skip: whole(0, MAX_SKIP).describe('Tasks to pass over first (they are read, too); default 0.'),
    limit: whole(1, MAX_LIST_SIZE).describe(`Most tasks to return, 1 to ${MAX_LIST_SIZE}; default ${MAX_LIST_SIZE}.`),
  })
  .transform((query, ctx): Omit<ListOptions, 'now' | 'from'> => {
    for (const [a, b] of [
      ['sort', 'sort_by'],
      ['order', 'sort_order'],
    ] as const) {
      if (query[a] !== undefined && query[b] !== undefined && query[a] !== query[b]) {
        ctx.addIssue({ code: 'custom', path: [b], message: `names another value than ${a}; give one of them` })
        return z.NEVER
      }
    }
    const sort = SORTS[query.sort ?? query.sort_by ?? 'created_at']
    const order = query.order ?? query.sort_order
    const status = query.status ?? 'all'
    return {
      limit: query.limit ?? MAX_LIST_SIZE,
      offset: query.skip ?? 0,
      sort: { field: sort.field, descending: order === undefined ? sort.descending : order === 'desc' },
      filter: {
        completed: status === 'all' ? undefined : status === 'completed',
        priority: query.priority === 'all' ? undefined : query.priority,
        q: query.search,
        tags: undefined,
        dueBefore: undefined,
        dueAfter: undefined,
        overdue: undefined,
        remindBefore: undefined,
        remindAfter: undefined,
      },
    }
  })
