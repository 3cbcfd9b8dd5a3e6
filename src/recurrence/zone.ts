/**
 * Wall-clock time in an IANA time zone, on the platform's Intl (workerd has no Temporal yet).
 *
 * A wall-clock time is held as a "naive" millisecond count: the UTC instant whose UTC fields
 * equal the local fields, so calendar arithmetic is plain Date.UTC arithmetic.
 */

export const DAY_MS = 86_400_000

/** Monday 0 ... Sunday 6, for a day number counted from 1970-01-01 (a Thursday). */
export const weekdayIndex = (day: number) => (((day + 3) % 7) + 7) % 7

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timeZone, format)
  }
  return format
}

/** The zone's canonical spelling (`europe/berlin` -> `Europe/Berlin`), or undefined for an unknown name. */
export function canonicalTimeZone(name: string): string | undefined {
  // Intl also takes UTC offsets such as "+01:00"; an offset has no daylight saving rules, so it is not a zone here.
  if (!/^[A-Za-z]/.test(name)) return undefined
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone
  } catch {
    return undefined
  }
}

/** The wall-clock time at `instant` in `timeZone`, as a naive millisecond count. */
export function toLocal(instant: number, timeZone: string): number {
  const fields: Record<string, number> = {}
  for (const part of formatter(timeZone).formatToParts(instant)) fields[part.type] = Number(part.value)
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = fields
  const date = new Date(0)
  // setUTCFullYear, unlike Date.UTC, does not move years 0-99 to the 1900s.
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, ((instant % 1000) + 1000) % 1000)
  return date.getTime()
}

const offsetAt = (instant: number, timeZone: string) => toLocal(instant, timeZone) - instant

/**
 * The instant at which `timeZone` shows the wall-clock time `local`, resolved as RFC 5545 (3.3.5)
 * resolves a DATE-TIME with a TZID: a repeated time (clocks going back) is its first occurrence, and a
 * time that does not exist (clocks going forward) is read with the offset from before the gap, so
 * 2:30 on the day New York skips 2:00-3:00 is 3:30.
 */
export function toInstant(local: number, timeZone: string): number {
  // Zones change offset at most once in any two days, so these two offsets are the only candidates.
  const before = local - offsetAt(local - DAY_MS, timeZone)
  const after = local - offsetAt(local + DAY_MS, timeZone)
  const candidates = [before, after].filter((instant) => toLocal(instant, timeZone) === local)
  return candidates.length > 0 ? Math.min(...candidates) : before
}
