/** What a client may send: the task's fields with the limits of its model (model.ts), and the list queries. */
import * as z from 'zod'
import { recurrenceSchema, timeZoneSchema } from '../recurrence/rule'
import { type Cursor, decodeCursor } from './cursor'
import { INSTANT, LIMITS, PRIORITIES } from './model'
import { decodeToken } from './sync-token'

export const MAX_PAGE_SIZE = 100
const DEFAULT_PAGE_SIZE = 50

// Counts code points, as the limits do.
const length = (s: string) => [...s].length

const text = (min: number, max: number, { trim }: { trim: boolean }) =>
  (trim ? z.string().trim() : z.string())
    // A lone surrogate is stored as bytes D1 reads back as three U+FFFD: the task would not round-trip,
    // and its title would sort and page differently from what its cursor says.
    .refine((s) => s.isWellFormed(), 'must be well-formed Unicode (no lone surrogates)')
    // SQLite's text functions (length(), instr()) stop at a NUL, so it would undo the length CHECKs.
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')
    .refine(
      (s) => length(s) >= min && length(s) <= max,
      min > 0 ? `must be ${min} to ${max} characters` : `must be at most ${max} characters`,
    )
    // For the OpenAPI document: a refinement has no JSON Schema. JSON Schema counts code points too.
    .meta({ ...(min > 0 && { minLength: min }), maxLength: max })

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/i

// Not z.iso.datetime: it refuses the lower-case `t` and `z` that RFC 3339 allows and this API accepts.
function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value)
  if (!m) return false
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  const offsetOk = m[8]!.toUpperCase() === 'Z' || (Number(m[9]) < 24 && Number(m[10]) < 60)
  // Date.parse alone accepts 2026-02-30 (as March 2); check the calendar ourselves.
  return (
    month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour < 24 && minute < 60 && second < 60 && offsetOk
  )
}

/** Stored and returned in UTC (`2026-05-01T09:30:00.000Z`), so due dates sort as strings. */
const dueAt = z
  .string()
  .refine(isRfc3339, 'must be an RFC 3339 date-time, e.g. 2026-05-01T09:30:00Z')
  .meta({ format: 'date-time' })
  .transform((value) => new Date(value).toISOString())
  // An offset can push 9999-12-31 past year 9999, which has no four-digit ISO form.
  .refine((iso) => /^\d{4}-/.test(iso), 'must fall within the years 0000 to 9999 in UTC')

const tag = () => text(LIMITS.tag.min, LIMITS.tag.max, { trim: true })

const tags = z
  .array(tag())
  .max(LIMITS.tags.max, `must have at most ${LIMITS.tags.max} tags`)
  .refine((list) => new Set(list).size === list.length, 'must not repeat a tag')

const fields = {
  title: text(LIMITS.title.min, LIMITS.title.max, { trim: true }),
  description: text(0, LIMITS.description.max, { trim: false }),
  completed: z.boolean(),
  priority: z.enum(PRIORITIES),
  dueAt: dueAt.nullable(),
  tags,
  recurrence: recurrenceSchema(dueAt).nullable(),
  timeZone: timeZoneSchema,
  remindAt: dueAt.nullable(),
}

/** Why a rule needs a due date: a create without one, or a write that would clear it, is refused. */
export const RECURRENCE_NEEDS_DUE_AT = 'needs a dueAt: the series is counted from it'

/** POST /tasks and PUT /tasks/{id}: omitted optional fields take their defaults. */
export const taskInput = z
  .strictObject({
    title: z
      .string({ error: (issue) => (issue.input === undefined ? 'is required' : undefined) })
      .pipe(fields.title)
      // The document shows a pipe's input side: carry the title's limits over to it.
      .meta(z.globalRegistry.get(fields.title)!),
    description: fields.description.default(''),
    completed: fields.completed.default(false),
    priority: fields.priority.default('medium'),
    dueAt: fields.dueAt.default(null),
    tags: fields.tags.default([]),
    recurrence: fields.recurrence.default(null),
    timeZone: fields.timeZone.default('UTC'),
    remindAt: fields.remindAt.default(null),
  })
  .refine((input) => input.recurrence === null || input.dueAt !== null, {
    message: RECURRENCE_NEEDS_DUE_AT,
    path: ['recurrence'],
    when: (payload) => payload.issues.length === 0,
  })
export type TaskInput = z.output<typeof taskInput>

/** PATCH /tasks/{id}: any subset of the fields, at least one. */
export const taskPatch = z
  .strictObject({
    title: fields.title.optional(),
    description: fields.description.optional(),
    completed: fields.completed.optional(),
    priority: fields.priority.optional(),
    dueAt: fields.dueAt.optional(),
    tags: fields.tags.optional(),
    recurrence: fields.recurrence.optional(),
    timeZone: fields.timeZone.optional(),
    remindAt: fields.remindAt.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, {
    message: 'must change at least one field',
    // Only for an otherwise valid body: `{"user_id": …}` should name user_id, not this.
    when: (payload) => payload.issues.length === 0,
  })
export type TaskPatch = z.output<typeof taskPatch>

// A repeated parameter arrives as an array; say that rather than "expected string".
const single = () =>
  z.string({ error: (issue) => (Array.isArray(issue.input) ? 'must be given only once' : undefined) })

export const limit = single()
  .regex(/^\d{1,3}$/, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
  .transform(Number)
  .refine((n) => n >= 1 && n <= MAX_PAGE_SIZE, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
  .default(DEFAULT_PAGE_SIZE)
  .describe(`Items per page, 1 to ${MAX_PAGE_SIZE}; default ${DEFAULT_PAGE_SIZE}.`)

/** The fields a list can be sorted by; list-repo.ts maps each to the one column its index orders by. */
export const SORT_FIELDS = ['createdAt', 'updatedAt', 'dueAt', 'priority', 'title'] as const
export type SortField = (typeof SORT_FIELDS)[number]
const SORTS = SORT_FIELDS.flatMap((field) => [field, `-${field}` as const])
const MAX_SEARCH_LENGTH = 100
// A title cursor carries up to LIMITS.title.max characters, each up to 6 bytes once JSON-escaped, in base64.
const MAX_CURSOR_LENGTH = 2048

/** What a cursor's value must look like under each sort; anything else is a tampered cursor. */
const cursorValue = {
  // A task number and a sequence number (src/tasks/list-repo.ts, SORTS).
  createdAt: z.int().min(1),
  updatedAt: z.int().min(0),
  dueAt: z.string().regex(INSTANT).nullable(),
  priority: fields.priority,
  title: fields.title,
} satisfies Record<SortField, z.ZodType>

export const listQuery = z
  .strictObject({
    limit,
    cursor: single()
      .max(MAX_CURSOR_LENGTH, 'is not a valid cursor')
      .optional()
      .describe("The previous page's nextCursor. Valid only with the same sort and filters it was made for."),
    sort: single()
      .pipe(z.enum(SORTS, { error: `must be one of ${SORTS.join(', ')}` }))
      .default('-createdAt')
      .describe(
        'Field to sort by, ascending, or descending with a leading "-"; ties by id in the same direction. ' +
          'Default -createdAt (newest first). createdAt and updatedAt are the order in which tasks were ' +
          'created and last written. priority sorts by rank (low < medium < high), title ' +
          'case-insensitively (ASCII letters), and tasks without dueAt come last in both directions.',
      ),
    completed: single()
      .refine((v) => v === 'true' || v === 'false', 'must be true or false')
      .meta({ enum: ['true', 'false'] })
      .transform((v) => v === 'true')
      .optional()
      .describe('true: only completed tasks; false: only open ones.'),
    priority: single()
      .pipe(z.enum(PRIORITIES, { error: `must be one of ${PRIORITIES.join(', ')}` }))
      .optional()
      .describe('Only tasks of this priority.'),
    tag: z
      .union([z.string(), z.array(z.string())])
      .transform((value) => (typeof value === 'string' ? [value] : value))
      .pipe(z.array(tag()).max(LIMITS.tags.max, `must be given at most ${LIMITS.tags.max} times`))
      // Sorted and unique: the same set of tags is the same filter, whatever order it came in.
      .transform((list) => [...new Set(list)].sort())
      .optional()
      .describe(
        'Only tasks that have this tag (exact, case-sensitive). Repeat it for tasks that have all the given tags.',
      ),
    q: single()
      .pipe(text(1, MAX_SEARCH_LENGTH, { trim: false }))
      .optional()
      .describe(
        'Only tasks whose title or description contains this text, literally (% and _ are not wildcards), ' +
          'ignoring the case of ASCII letters.',
      ),
    dueBefore: single().pipe(dueAt).optional().describe('Only tasks due strictly before this RFC 3339 date-time.'),
    dueAfter: single().pipe(dueAt).optional().describe('Only tasks due at or after this RFC 3339 date-time.'),
    remindBefore: single()
      .pipe(dueAt)
      .optional()
      .describe('Only tasks with a reminder strictly before this RFC 3339 date-time.'),
    remindAfter: single()
      .pipe(dueAt)
      .optional()
      .describe('Only tasks with a reminder at or after this RFC 3339 date-time.'),
    overdue: single()
      .refine((v) => v === 'true', 'must be true; overdue=false is not supported (use completed and dueAfter)')
      .transform(() => true as const)
      .optional()
      .describe('true: only open tasks whose due date has passed. Cannot be combined with completed=true.'),
  })
  .transform((query, ctx) => {
    const { limit, cursor, sort, completed, priority, tag: tags, q, dueBefore, dueAfter, overdue } = query
    const { remindBefore, remindAfter } = query
    if (overdue && completed === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['overdue'],
        message: 'lists open tasks only; it cannot be combined with completed=true',
      })
      return z.NEVER
    }
    const filter = { completed, priority, tags, q, dueBefore, dueAfter, overdue, remindBefore, remindAfter }
    const field = sort.replace(/^-/, '') as SortField
    // Every parameter that decides which tasks come in which order, and nothing else: a cursor is
    // bound to it. Absent ones are null in the array, so the text is canonical.
    const listing = JSON.stringify([
      sort,
      completed,
      priority,
      tags,
      q,
      dueBefore,
      dueAfter,
      overdue,
      remindBefore,
      remindAfter,
    ])
    let from: Cursor | undefined
    if (cursor !== undefined) {
      const decoded = decodeCursor(cursor, listing)
      const value = typeof decoded === 'string' ? undefined : cursorValue[field].safeParse(decoded.value)
      if (typeof decoded === 'string' || !value?.success) {
        ctx.addIssue({
          code: 'custom',
          path: ['cursor'],
          message: typeof decoded === 'string' ? decoded : 'is not a valid cursor',
        })
        return z.NEVER
      }
      from = { value: value.data, id: decoded.id }
    }
    return { limit, sort: { field, descending: sort.startsWith('-') }, filter, listing, from }
  })
export type ListQuery = z.output<typeof listQuery>

/** Routes that take no query parameters still refuse any, `user_id` included. */
export const noQuery = z.strictObject({})

/** GET /tasks/changes: `since` is a token from an earlier page; without it the feed starts from the beginning. */
export const changesQuery = z.strictObject({
  since: single()
    .max(512, 'is not a sync token')
    .transform((raw, ctx) => {
      const token = decodeToken(raw)
      if (typeof token === 'string') {
        ctx.addIssue({ code: 'custom', message: token })
        return z.NEVER
      }
      return token
    })
    .optional(),
  limit,
})

/**
 * DELETE /tasks: only `completed=true`. Without a filter it would delete everything, and deleting
 * every open task at once is more likely a mistake than a wish; neither is offered.
 */
export const bulkDeleteQuery = z.strictObject({
  completed: z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'is required: DELETE /tasks deletes only completed tasks, with completed=true'
          : Array.isArray(issue.input)
            ? 'must be given only once'
            : undefined,
    })
    .refine((v) => v === 'true', 'must be true: only completed tasks can be deleted in bulk'),
})
