/**
 * What the FastAPI-contract frontends send: snake_case bodies and the list's query parameters,
 * mapped onto the main API's own schemas (src/tasks/requests.ts), so that the limits are the same.
 * Unknown fields and parameters are dropped, as FastAPI's models dropped them.
 */
import * as z from 'zod'
import { FREQUENCIES, type Frequency, MAX_INTERVAL, type Recurrence } from '../recurrence/rule'
import { PRIORITIES } from '../tasks/model'
import { type SortField, type TaskInput, type TaskPatch, taskInput, taskPatch } from '../tasks/requests'
import type { ListOptions } from '../tasks/service'

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

/** The frontends' recurrence names; `none` is no rule. */
export const FREQUENCY_NAMES = ['none', ...FREQUENCIES] as const
/** The most minutes `reminder_offset_minutes` may put a reminder before its due date: a year of 366 days. */
const MAX_REMINDER_OFFSET = 366 * 24 * 60

const frequencyName = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(FREQUENCY_NAMES, oneOf(FREQUENCY_NAMES)))
const ruleObject = fields.recurrence.unwrap().unwrap()

// Not z.union: its error for an object with one bad field would only say "Invalid input".
const recurrenceValue = z
  .unknown()
  .transform((value, ctx): (typeof FREQUENCY_NAMES)[number] | Recurrence => {
    if (value === null) return 'none'
    const isObject = typeof value === 'object' && !Array.isArray(value)
    if (typeof value !== 'string' && !isObject) {
      ctx.addIssue({ code: 'custom', message: `must be one of ${FREQUENCY_NAMES.join(', ')}, or a recurrence object` })
      return z.NEVER
    }
    const result = (isObject ? ruleObject : frequencyName).safeParse(value)
    if (result.success) return result.data
    for (const { path, message } of result.error.issues) {
      ctx.addIssue({ code: 'custom', path: path as PropertyKey[], message })
    }
    return z.NEVER
  })
  .meta({
    description:
      "none, daily, weekly, monthly or yearly (any case), or the main API's recurrence object; null is none.",
  })

const wholeNumber = (min: number, max: number) =>
  z
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, `must be a whole number from ${min} to ${max}`)
    .max(max, `must be a whole number from ${min} to ${max}`)

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
  recurrence: recurrenceValue.optional(),
  recurrence_pattern: recurrenceValue.optional().meta({ description: 'The same as recurrence.' }),
  is_recurring: unlessNull(z.boolean().meta({ description: 'false: no rule, whatever recurrence says.' })),
  recurrence_interval: unlessNull(
    wholeNumber(1, MAX_INTERVAL).meta({ description: 'Every n days, weeks, months or years.' }),
  ),
  time_zone: unlessNull(fields.timeZone.unwrap()),
  remind_at: dueDate.nullable().optional(),
  reminder_at: dueDate.nullable().optional().meta({ description: 'The same as remind_at.' }),
  reminder_time: dueDate.nullable().optional().meta({ description: 'The same as remind_at.' }),
  reminder_offset_minutes: unlessNull(
    wholeNumber(0, MAX_REMINDER_OFFSET).meta({ description: 'Sets remind_at this many minutes before due_date.' }),
  ),
}
type Changes = z.output<z.ZodObject<typeof changes>>

/** A rule named by the frontends' enum and interval: decided against the stored rule (recurrence.ts). */
export interface SeriesChange {
  /** null: no rule; undefined: the stored rule's frequency. */
  frequency?: Frequency | null
  interval?: number
}

/** A body's changes: what it says alone, and what must be decided against the stored task. */
export interface ApiChanges {
  patch: TaskPatch
  series?: SeriesChange
  /** reminder_offset_minutes when the body has no due_date: before the stored one. */
  remindBefore?: number
}

/** The changes every body means, or the issues that make it a 422. */
function changesOf(body: Changes, ctx: z.RefinementCtx): ApiChanges {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message })
  const patch: TaskPatch = {}
  if (body.title !== undefined) patch.title = body.title
  if (body.description !== undefined) patch.description = body.description
  if (body.completed !== undefined) patch.completed = body.completed
  if (body.priority !== undefined) patch.priority = body.priority
  if (body.due_date !== undefined) patch.dueAt = body.due_date
  if (body.tags !== undefined) patch.tags = body.tags
  if (body.time_zone !== undefined) patch.timeZone = body.time_zone
  const result: ApiChanges = { patch }

  const { recurrence, recurrence_pattern: pattern, recurrence_interval: interval } = body
  if (recurrence !== undefined && pattern !== undefined && JSON.stringify(recurrence) !== JSON.stringify(pattern)) {
    issue('recurrence_pattern', 'names another recurrence than recurrence; give one of them')
  }
  const rule = body.is_recurring === false ? 'none' : (recurrence ?? pattern)
  if (body.is_recurring === true && (rule === undefined || rule === 'none')) {
    issue('is_recurring', 'is true, but recurrence names no frequency')
  }
  if (typeof rule === 'object') {
    if (interval !== undefined && interval !== rule.interval) {
      issue('recurrence_interval', 'differs from recurrence.interval; give one of them')
    }
    patch.recurrence = rule
  } else if (rule === 'none') patch.recurrence = null
  else if (rule !== undefined || interval !== undefined) {
    result.series = { ...(rule !== undefined && { frequency: rule }), ...(interval !== undefined && { interval }) }
  }

  const reminders = (['remind_at', 'reminder_at', 'reminder_time'] as const).filter((name) => body[name] !== undefined)
  const [first, ...others] = reminders
  for (const name of others) {
    if (body[name] !== body[first!]) issue(name, `names another time than ${first}; give one of them`)
  }
  if (first !== undefined) patch.remindAt = body[first]!
  const offset = body.reminder_offset_minutes
  if (offset !== undefined) {
    if (first !== undefined) issue('reminder_offset_minutes', `give it or ${first}, not both`)
    else if (body.due_date === null) issue('reminder_offset_minutes', 'needs a due_date')
    else if (body.due_date !== undefined) {
      const remindAt = before(body.due_date, offset)
      if (remindAt === undefined) issue('reminder_offset_minutes', 'puts the reminder before the year 0000')
      else patch.remindAt = remindAt
    } else result.remindBefore = offset
  }
  return result
}

/** `minutes` before the instant `dueAt`, as the API stores it; undefined before the year 0000. */
export function before(dueAt: string, minutes: number): string | undefined {
  const time = new Date(Date.parse(dueAt) - minutes * 60_000).toISOString()
  return /^\d{4}-/.test(time) ? time : undefined
}

/** A rule as the enum names it, with the main API's defaults for the rest. */
export const ruleNamed = (frequency: Frequency, interval = 1): Recurrence => ({
  frequency,
  interval,
  weekdays: null,
  until: null,
  count: null,
})

/** POST: `title` is required; the rest take the main API's defaults. */
export const createBody = z.object({ ...changes, title: taskInput.shape.title }).transform((body, ctx): TaskInput => {
  const { patch, series, remindBefore } = changesOf(body, ctx)
  if (series?.frequency === undefined && series?.interval !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['recurrence_interval'], message: 'needs a recurrence' })
  }
  if (remindBefore !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['reminder_offset_minutes'], message: 'needs a due_date' })
  }
  const recurrence = series?.frequency ? ruleNamed(series.frequency, series.interval) : (patch.recurrence ?? null)
  const dueAt = patch.dueAt ?? null
  if (recurrence !== null && dueAt === null) {
    ctx.addIssue({ code: 'custom', path: ['recurrence'], message: 'needs a due_date: the series is counted from it' })
  }
  return {
    title: body.title,
    description: patch.description ?? '',
    completed: patch.completed ?? false,
    priority: patch.priority ?? 'medium',
    dueAt,
    tags: patch.tags ?? [],
    recurrence,
    timeZone: patch.timeZone ?? 'UTC',
    remindAt: patch.remindAt ?? null,
  }
})

/** PUT and PATCH alike: the fields given, none required (the frontends' PUT is a partial update). */
export const updateBody = z.object(changes).transform(changesOf)

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
