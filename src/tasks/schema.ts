/** What a client may send. Mirrors the CHECK constraints in migrations/. */
import * as z from 'zod'
import { type Cursor, decodeCursor, filterKey } from './cursor'
import { decodeToken } from './sync'

export const PRIORITIES = ['low', 'medium', 'high'] as const
export const MAX_TAGS = 10
export const MAX_PAGE_SIZE = 100
export const DEFAULT_PAGE_SIZE = 50

// Lengths count characters (code points), as SQLite's length() in the CHECK constraints does.
const length = (s: string) => [...s].length

const text = (min: number, max: number, { trim }: { trim: boolean }) =>
  (trim ? z.string().trim() : z.string()).refine(
    (s) => length(s) >= min && length(s) <= max,
    min > 0 ? `must be ${min} to ${max} characters` : `must be at most ${max} characters`,
  )

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/i

function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value)
  if (!m) return false
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  const offsetOk = m[8]!.toUpperCase() === 'Z' || (Number(m[9]) < 24 && Number(m[10]) < 60)
  // Date.parse alone accepts 2026-02-30 (as March 2); check the calendar ourselves.
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour < 24 && minute < 60 && second < 60 && offsetOk
}

/** Stored and returned in UTC (`2026-05-01T09:30:00.000Z`), so due dates sort as strings. */
const dueAt = z
  .string()
  .refine(isRfc3339, 'must be an RFC 3339 date-time, e.g. 2026-05-01T09:30:00Z')
  .transform((value) => new Date(value).toISOString())
  // An offset can push 9999-12-31 past year 9999, which has no four-digit ISO form.
  .refine((iso) => /^\d{4}-/.test(iso), 'must fall within the years 0000 to 9999 in UTC')

const tags = z
  .array(text(1, 32, { trim: true }))
  .max(MAX_TAGS, `must have at most ${MAX_TAGS} tags`)
  .refine((list) => new Set(list).size === list.length, 'must not repeat a tag')

const fields = {
  title: text(1, 200, { trim: true }),
  description: text(0, 1000, { trim: false }),
  completed: z.boolean(),
  priority: z.enum(PRIORITIES),
  dueAt: dueAt.nullable(),
  tags,
}

/** POST /tasks and PUT /tasks/{id}: omitted optional fields take their defaults. */
export const taskInput = z.strictObject({
  title: z.string({ error: (issue) => (issue.input === undefined ? 'is required' : undefined) }).pipe(fields.title),
  description: fields.description.default(''),
  completed: fields.completed.default(false),
  priority: fields.priority.default('medium'),
  dueAt: fields.dueAt.default(null),
  tags: fields.tags.default([]),
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

const limit = single()
  .regex(/^\d{1,3}$/, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
  .transform(Number)
  .refine((n) => n >= 1 && n <= MAX_PAGE_SIZE, `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
  .default(DEFAULT_PAGE_SIZE)

export const listQuery = z
  .strictObject({
    limit,
    cursor: single().max(512, 'is not a valid cursor').optional(),
    completed: single()
      .refine((v) => v === 'true' || v === 'false', 'must be true or false')
      .transform((v) => v === 'true')
      .optional(),
  })
  .transform(({ limit, cursor, completed }, ctx) => {
    const filter = completed === undefined ? {} : { completed }
    const key = filterKey(filter)
    let from: Cursor | undefined
    if (cursor !== undefined) {
      const decoded = decodeCursor(cursor, key)
      if (typeof decoded === 'string') {
        ctx.addIssue({ code: 'custom', path: ['cursor'], message: decoded })
        return z.NEVER
      }
      from = decoded
    }
    return { limit, filter, filterKey: key, from }
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
