/**
 * What completing a recurring task creates, and how a write moves a series. Pure: the repo stores
 * what these return in the same batch as the completion (src/tasks/).
 */
import { nextOccurrence } from './next'
import { type Recurrence, WEEKDAYS } from './rule'
import { DAY_MS, toLocal, weekdayIndex } from './zone'

/** The recurrence-related fields of a task, as stored. */
export interface SeriesFields {
  dueAt: string | null
  remindAt: string | null
  recurrence: Recurrence | null
  timeZone: string
  /** The series' first due date (DTSTART); null exactly when `recurrence` is. */
  seriesStart: string | null
}

/**
 * The successor's due date and reminder when the task is completed at `completedAt`; null when the
 * task does not recur or its series has ended (until, count). The reminder keeps its offset from the
 * due date.
 */
export function successorOf(
  task: SeriesFields,
  completedAt: string,
): { dueAt: string; remindAt: string | null } | null {
  if (task.recurrence === null || task.dueAt === null || task.seriesStart === null) return null
  const next = nextOccurrence(
    { rule: task.recurrence, timeZone: task.timeZone, start: task.seriesStart },
    task.dueAt,
    completedAt,
  )
  if (next === null) return null
  const offset = task.remindAt === null ? null : Date.parse(task.remindAt) - Date.parse(task.dueAt)
  const remindAt = offset === null ? null : new Date(Date.parse(next.dueAt) + offset).toISOString()
  // A reminder pushed out of the four-digit years is dropped rather than stored in another format.
  return { dueAt: next.dueAt, remindAt: remindAt !== null && /^\d{4}-/.test(remindAt) ? remindAt : null }
}

/**
 * The series start after a write that leaves the task with `next` fields: unchanged while the rule and
 * zone are, so moving one occurrence's due date moves only that occurrence (as an RFC 5545 instance
 * with its own RECURRENCE-ID would); a new rule or zone starts a new series at the task's due date.
 */
export function seriesStartAfter(
  before: Pick<SeriesFields, 'recurrence' | 'timeZone' | 'seriesStart'>,
  next: Pick<SeriesFields, 'recurrence' | 'timeZone' | 'dueAt'>,
): string | null {
  if (next.recurrence === null || next.dueAt === null) return null
  const same =
    before.seriesStart !== null &&
    before.timeZone === next.timeZone &&
    JSON.stringify(before.recurrence) === JSON.stringify(next.recurrence)
  return same ? before.seriesStart : next.dueAt
}

/** A weekly rule without weekdays falls on the due date's weekday in the task's zone: say which. */
export function withDefaultWeekdays(rule: Recurrence, dueAt: string, timeZone: string): Recurrence {
  if (rule.frequency !== 'weekly' || rule.weekdays !== null) return rule
  const day = Math.floor(toLocal(Date.parse(dueAt), timeZone) / DAY_MS)
  return { ...rule, weekdays: [WEEKDAYS[weekdayIndex(day)]!] }
}
