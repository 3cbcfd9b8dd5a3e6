/**
 * A task's recurrence rule: RFC 5545's RRULE (FREQ, INTERVAL, BYDAY for weekly, UNTIL, COUNT), and the
 * time zone its occurrences are computed in. docs/recurrence.md says where the semantics differ.
 */
import * as z from 'zod'
import { canonicalTimeZone } from './zone'

export const FREQUENCIES = ['daily', 'weekly', 'monthly', 'yearly'] as const
export type Frequency = (typeof FREQUENCIES)[number]

/** RFC 5545's BYDAY names in lower case, Monday first (WKST=MO). */
export const WEEKDAYS = ['mo', 'tu', 'we', 'th', 'fr', 'sa', 'su'] as const
export type Weekday = (typeof WEEKDAYS)[number]

export const MAX_INTERVAL = 366
export const MAX_COUNT = 1000
export const DEFAULT_TIME_ZONE = 'UTC'

export interface Recurrence {
  frequency: Frequency
  /** Every `interval` days, weeks, months or years. */
  interval: number
  /** Weekly only: the days of the week it falls on; null means the weekday of the series' first due date. */
  weekdays: Weekday[] | null
  /** The last instant an occurrence may fall on (inclusive, as RFC 5545's UNTIL). */
  until: string | null
  /** Occurrences in the whole series, the first one included (RFC 5545's COUNT). */
  count: number | null
}

/** Builds the rule's schema around the API's date-time schema, so `until` reads like `dueAt`. */
export function recurrenceSchema(dateTime: z.ZodType<string, string>) {
  return z
    .strictObject({
      frequency: z.enum(FREQUENCIES),
      interval: z.int().min(1).max(MAX_INTERVAL).default(1),
      weekdays: z
        .array(z.enum(WEEKDAYS))
        .min(1)
        .refine((days) => new Set(days).size === days.length, 'must not repeat a weekday')
        .transform((days) => WEEKDAYS.filter((day) => days.includes(day)))
        .nullable()
        .default(null),
      until: dateTime.nullable().default(null),
      count: z.int().min(1).max(MAX_COUNT).nullable().default(null),
    })
    .refine((rule) => rule.weekdays === null || rule.frequency === 'weekly', {
      message: 'weekdays apply only to a weekly recurrence',
      path: ['weekdays'],
    })
    .refine((rule) => rule.until === null || rule.count === null, {
      // RFC 5545 3.3.10: UNTIL and COUNT MUST NOT occur in the same rule.
      message: 'give until or count, not both',
      path: ['count'],
    }) satisfies z.ZodType<Recurrence, unknown>
}

/** An IANA time zone name, stored in its canonical spelling; an unknown name (or a bare offset) is refused. */
export const timeZoneSchema = z
  .string()
  .max(64)
  .refine((name) => canonicalTimeZone(name) !== undefined, 'must be an IANA time zone name, e.g. Europe/Berlin')
  .transform((name) => canonicalTimeZone(name) as string)
  .meta({ examples: ['Europe/Berlin'] })
