import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nextOccurrence, type Series } from '../../src/recurrence/next'
import { FREQUENCIES, type Recurrence, WEEKDAYS } from '../../src/recurrence/rule'

const ZONES = Intl.supportedValuesOf('timeZone')
const HOUR = 3_600_000
const DAY = 24 * HOUR

// An oracle independent of src/recurrence/zone.ts: Intl's own rendering of the wall clock and offset.
const clock = (instant: number, timeZone: string) =>
  new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(instant)

function offsetMinutes(instant: number, timeZone: string): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(instant)
    .find((part) => part.type === 'timeZoneName')!.value
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name)
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0
}

/** True when the clocks jump forward within a day of `instant`: the only excuse for a changed wall clock. */
const nearGap = (instant: number, timeZone: string) =>
  offsetMinutes(instant + DAY, timeZone) > offsetMinutes(instant - DAY, timeZone)

const WEEKDAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']

/** The date is one the rule allows: a listed weekday, or the anchor's day of the month (the month's last if shorter). */
function onCalendar({ rule, timeZone, start }: Series, instant: number): boolean {
  const date = clock(instant, timeZone).slice(0, 10)
  const anchor = clock(Date.parse(start), timeZone).slice(0, 10)
  if (rule.frequency === 'daily') return true
  if (rule.frequency === 'weekly') {
    const day = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short' }).format(instant)
    const anchorDay = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short' }).format(Date.parse(start))
    const allowed = (rule.weekdays ?? [WEEKDAYS[WEEKDAY_NAMES.indexOf(anchorDay)]!]).map(
      (d) => WEEKDAY_NAMES[WEEKDAYS.indexOf(d)],
    )
    return allowed.includes(day)
  }
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  const lastDay = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0)
  if (rule.frequency === 'yearly' && anchor.slice(5, 7) !== date.slice(5, 7)) return false
  return day === Math.min(Number(anchor.slice(8, 10)), lastDay)
}

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0

const recurrence = fc
  .record({
    frequency: fc.constantFrom(...FREQUENCIES),
    interval: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 366 })),
    weekdays: fc.option(fc.subarray([...WEEKDAYS], { minLength: 1 }), { nil: null }),
    limit: fc.oneof(
      fc.constant({}),
      fc.record({ count: fc.integer({ min: 1, max: 1000 }) }),
      fc.record({ untilDays: fc.integer({ min: 0, max: 3000 }) }),
    ),
  })
  .map(({ frequency, interval, weekdays, limit }) => ({ frequency, interval, weekdays, limit }))

const scenario = fc.record({
  rule: recurrence,
  timeZone: fc.constantFrom(...ZONES),
  // 1990 to 2090, to the second.
  start: fc.integer({ min: 631_152_000, max: 3_786_912_000 }).map((s) => s * 1000),
  // How late each occurrence is completed: mostly on time, sometimes days or months late.
  delays: fc.array(
    fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 * DAY }), fc.integer({ min: 0, max: 90 * DAY })),
    {
      minLength: 1,
      maxLength: 12,
    },
  ),
})

describe('nextOccurrence properties', () => {
  it('moves strictly forward, keeps the wall-clock time, and never passes until or count', () => {
    fc.assert(
      fc.property(scenario, ({ rule: r, timeZone, start, delays }) => {
        const rule: Recurrence = {
          frequency: r.frequency,
          interval: r.interval,
          weekdays: r.frequency === 'weekly' ? r.weekdays : null,
          count: 'count' in r.limit ? r.limit.count : null,
          until: 'untilDays' in r.limit ? new Date(start + r.limit.untilDays * DAY).toISOString() : null,
        }
        const series: Series = { rule, timeZone, start: new Date(start).toISOString() }
        const time = clock(start, timeZone).slice(11)
        let due = start
        let index = 1
        for (const delay of delays) {
          const after = due + delay
          const next = nextOccurrence(series, new Date(due).toISOString(), new Date(after).toISOString())
          if (next === null) break
          const instant = Date.parse(next.dueAt)
          expect(instant).toBeGreaterThan(Math.max(due, after))
          expect(next.index).toBeGreaterThan(index)
          if (rule.count !== null) expect(next.index).toBeLessThanOrEqual(rule.count)
          if (rule.until !== null) expect(instant).toBeLessThanOrEqual(Date.parse(rule.until))
          if (clock(instant, timeZone).slice(11) !== time) expect(nearGap(instant, timeZone)).toBe(true)
          else expect(onCalendar(series, instant)).toBe(true)
          due = instant
          index = next.index
        }
      }),
      { numRuns: 300 },
    )
  })

  it('after a late completion, finds the same occurrence as stepping through the series one by one', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 0, max: 400 * DAY }), ({ rule: r, timeZone, start }, late) => {
        const rule: Recurrence = {
          frequency: r.frequency,
          interval: Math.min(r.interval, 5),
          weekdays: r.frequency === 'weekly' ? r.weekdays : null,
          count: null,
          until: null,
        }
        const series: Series = { rule, timeZone, start: new Date(start).toISOString() }
        const iso = new Date(start).toISOString()
        const jumped = nextOccurrence(series, iso, new Date(start + late).toISOString())
        let stepped = nextOccurrence(series, iso, iso)
        while (stepped && Date.parse(stepped.dueAt) <= start + late)
          stepped = nextOccurrence(series, stepped.dueAt, stepped.dueAt)
        expect(jumped).toEqual(stepped)
      }),
      { numRuns: 200 },
    )
  })
})
