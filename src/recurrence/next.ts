/**
 * The next occurrence of a recurring task. Hand-written on Intl: the `rrule` package skips invalid
 * dates and has no time zone arithmetic of its own, and Temporal is not in workerd (its polyfill would
 * outweigh the rest of the worker).
 */
import { type Recurrence, WEEKDAYS } from './rule'
import { DAY_MS, toInstant, toLocal, weekdayIndex as weekday } from './zone'

/** A recurring series: its rule, its zone and where it began. */
export interface Series {
  rule: Recurrence
  /** IANA name; occurrences keep the first one's wall-clock time here. */
  timeZone: string
  /**
   * The first occurrence's due date (RFC 5545's DTSTART). It anchors the wall-clock time, the day of
   * the month (Jan 31 -> Feb 28 -> Mar 31) and the count: occurrence numbers are counted from it.
   */
  start: string
}

export interface Occurrence {
  /** UTC ISO date-time. */
  dueAt: string
  /** 1 for the series' first occurrence (`start`), 2 for the next one, and so on. */
  index: number
}

// The API's date-times have four-digit years.
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z')
// How many periods the search starts before the one the threshold falls in: a skipped-time shift
// (at most a day) can never carry an occurrence from that far back past the threshold.
const MARGIN = 2

const mod = (n: number, m: number) => ((n % m) + m) % m

/**
 * The series' first occurrence strictly after both `dueAt` (the task being completed) and `after`
 * (when it was completed), so a task finished late does not leave a trail of overdue copies; null
 * when none is left before `until` or within `count`. Skipped occurrences still count towards
 * `count`, as in RFC 5545, where the set of occurrences is fixed by DTSTART and the rule.
 *
 * @example
 * nextOccurrence(
 *   { rule: { frequency: 'monthly', interval: 1, weekdays: null, until: null, count: null },
 *     timeZone: 'Europe/Berlin', start: '2027-01-31T08:00:00.000Z' },
 *   '2027-02-28T08:00:00.000Z', '2027-02-28T10:00:00.000Z',
 * ) // { dueAt: '2027-03-31T07:00:00.000Z', index: 3 }: 9:00 in Berlin, summer time
 */
export function nextOccurrence(series: Series, dueAt: string, after: string): Occurrence | null {
  const { rule, timeZone } = series
  const start = Date.parse(series.start)
  const threshold = Math.max(start, Date.parse(dueAt), Date.parse(after))
  const until = rule.until === null ? LAST_INSTANT : Math.min(Date.parse(rule.until), LAST_INSTANT)
  for (const { local, index } of occurrences(rule, toLocal(start, timeZone), toLocal(threshold, timeZone))) {
    if (rule.count !== null && index > rule.count) return null
    const instant = toInstant(local, timeZone)
    // Occurrences only move forward, so the first one past `until` ends the search (NaN too).
    if (!(instant <= until)) return null
    if (instant > threshold) return { dueAt: new Date(instant).toISOString(), index }
  }
  return null
}

/**
 * The rule's occurrences after DTSTART in wall-clock time, in order and numbered, beginning a
 * `MARGIN` of periods before the one `near` falls in instead of at the start of the series.
 */
function* occurrences(rule: Recurrence, anchor: number, near: number): Generator<{ local: number; index: number }> {
  const timeOfDay = mod(anchor, DAY_MS)
  const anchorDay = Math.floor(anchor / DAY_MS)
  const nearDay = Math.floor(near / DAY_MS)

  if (rule.frequency === 'weekly') {
    const days = (rule.weekdays ?? [WEEKDAYS[weekday(anchorDay)]!]).map((day) => WEEKDAYS.indexOf(day))
    const monday = anchorDay - weekday(anchorDay)
    // DTSTART is the first occurrence whatever its weekday; the first week goes on after it.
    const firstWeek = days.filter((day) => monday + day > anchorDay)
    const weeks = (nearDay - weekday(nearDay) - monday) / 7
    let period = Math.max(0, Math.floor(weeks / rule.interval) - MARGIN)
    let index = 1 + (period === 0 ? 0 : firstWeek.length + (period - 1) * days.length)
    for (; ; period++) {
      for (const day of period === 0 ? firstWeek : days) {
        index++
        yield { local: (monday + period * 7 * rule.interval + day) * DAY_MS + timeOfDay, index }
      }
    }
  }

  if (rule.frequency === 'daily') {
    let step = Math.max(1, Math.floor((nearDay - anchorDay) / rule.interval) - MARGIN)
    for (; ; step++) yield { local: (anchorDay + step * rule.interval) * DAY_MS + timeOfDay, index: step + 1 }
  }

  // Monthly and yearly: the anchor's day of the month, or the month's last day when it is shorter
  // (RFC 7529's SKIP=BACKWARD), always from the anchor, so a clamped month never shifts the next.
  const months = rule.frequency === 'yearly' ? 12 * rule.interval : rule.interval
  const from = new Date(anchor)
  const to = new Date(near)
  const monthsApart = (to.getUTCFullYear() - from.getUTCFullYear()) * 12 + to.getUTCMonth() - from.getUTCMonth()
  let step = Math.max(1, Math.floor(monthsApart / months) - MARGIN)
  for (; ; step++) {
    const date = new Date(0)
    const month = from.getUTCMonth() + step * months
    date.setUTCFullYear(from.getUTCFullYear(), month + 1, 0)
    date.setUTCDate(Math.min(from.getUTCDate(), date.getUTCDate()))
    yield { local: Math.floor(date.getTime() / DAY_MS) * DAY_MS + timeOfDay, index: step + 1 }
  }
}
