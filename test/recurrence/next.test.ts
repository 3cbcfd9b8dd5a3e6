import { describe, expect, it } from 'vitest'
import { nextOccurrence, type Series } from '../../src/recurrence/next'
import type { Recurrence } from '../../src/recurrence/rule'

const rule = (overrides: Partial<Recurrence>): Recurrence => ({
  frequency: 'daily',
  interval: 1,
  weekdays: null,
  until: null,
  count: null,
  ...overrides,
})

const series = (start: string, timeZone: string, overrides: Partial<Recurrence> = {}): Series => ({
  rule: rule(overrides),
  timeZone,
  start,
})

/** The occurrences after `start`, each completed the moment it is due. */
function upcoming(s: Series, n: number): (string | undefined)[] {
  const due: (string | undefined)[] = []
  let current = s.start
  for (let i = 0; i < n; i++) {
    const next = nextOccurrence(s, current, current)
    due.push(next?.dueAt)
    if (!next) break
    current = next.dueAt
  }
  return due
}

describe('nextOccurrence: frequencies and intervals', () => {
  it('repeats daily at the same time, numbering each occurrence', () => {
    const s = series('2027-01-04T08:00:00.000Z', 'UTC')
    expect(nextOccurrence(s, s.start, '2027-01-04T08:30:00.000Z')).toEqual({
      dueAt: '2027-01-05T08:00:00.000Z',
      index: 2,
    })
    expect(upcoming(series(s.start, 'UTC', { interval: 3 }), 2)).toEqual([
      '2027-01-07T08:00:00.000Z',
      '2027-01-10T08:00:00.000Z',
    ])
  })

  it('repeats weekly on the weekday of the first due date when no weekdays are given', () => {
    // 2027-01-06 is a Wednesday.
    expect(upcoming(series('2027-01-06T09:00:00.000Z', 'UTC', { frequency: 'weekly' }), 2)).toEqual([
      '2027-01-13T09:00:00.000Z',
      '2027-01-20T09:00:00.000Z',
    ])
  })

  it('repeats weekly on each listed weekday, every other week with interval 2', () => {
    // Monday 2027-01-04; the weeks of Jan 4 and Jan 18.
    const s = series('2027-01-04T09:00:00.000Z', 'UTC', { frequency: 'weekly', interval: 2, weekdays: ['mo', 'th'] })
    expect(upcoming(s, 4)).toEqual([
      '2027-01-07T09:00:00.000Z',
      '2027-01-18T09:00:00.000Z',
      '2027-01-21T09:00:00.000Z',
      '2027-02-01T09:00:00.000Z',
    ])
  })

  it('counts the first due date as the first occurrence even when it is not on a listed weekday', () => {
    // Sunday 2027-01-03, then the weekdays of that week (Monday-first weeks) and the next.
    const s = series('2027-01-03T09:00:00.000Z', 'UTC', { frequency: 'weekly', weekdays: ['mo', 'fr'] })
    expect(nextOccurrence(s, s.start, s.start)).toEqual({ dueAt: '2027-01-04T09:00:00.000Z', index: 2 })
  })

  it('repeats monthly on the same day of the month, every interval months', () => {
    expect(upcoming(series('2027-01-15T09:00:00.000Z', 'UTC', { frequency: 'monthly', interval: 2 }), 3)).toEqual([
      '2027-03-15T09:00:00.000Z',
      '2027-05-15T09:00:00.000Z',
      '2027-07-15T09:00:00.000Z',
    ])
  })

  it('repeats yearly on the same date', () => {
    expect(upcoming(series('2027-06-10T09:00:00.000Z', 'UTC', { frequency: 'yearly' }), 2)).toEqual([
      '2028-06-10T09:00:00.000Z',
      '2029-06-10T09:00:00.000Z',
    ])
  })
})

describe('nextOccurrence: short months', () => {
  it('falls on the last day of shorter months and returns to the 31st without drifting', () => {
    // 9:00 in Berlin: CET (UTC+1) until 2027-03-28, then CEST (UTC+2).
    const s = series('2027-01-31T08:00:00.000Z', 'Europe/Berlin', { frequency: 'monthly' })
    expect(upcoming(s, 4)).toEqual([
      '2027-02-28T08:00:00.000Z',
      '2027-03-31T07:00:00.000Z',
      '2027-04-30T07:00:00.000Z',
      '2027-05-31T07:00:00.000Z',
    ])
  })

  it('keeps the 29th and 30th on the last day of February, including a leap year', () => {
    expect(upcoming(series('2027-12-30T09:00:00.000Z', 'UTC', { frequency: 'monthly' }), 3)).toEqual([
      '2028-01-30T09:00:00.000Z',
      '2028-02-29T09:00:00.000Z',
      '2028-03-30T09:00:00.000Z',
    ])
  })

  it('moves yearly Feb 29 to Feb 28 in common years and back to Feb 29 in the next leap year', () => {
    expect(upcoming(series('2028-02-29T09:00:00.000Z', 'UTC', { frequency: 'yearly' }), 4)).toEqual([
      '2029-02-28T09:00:00.000Z',
      '2030-02-28T09:00:00.000Z',
      '2031-02-28T09:00:00.000Z',
      '2032-02-29T09:00:00.000Z',
    ])
  })
})

describe('nextOccurrence: daylight saving time', () => {
  it('keeps 9:00 in Berlin across the change to summer time and back', () => {
    expect(upcoming(series('2027-03-27T08:00:00.000Z', 'Europe/Berlin'), 1)).toEqual(['2027-03-28T07:00:00.000Z'])
    expect(upcoming(series('2027-10-30T07:00:00.000Z', 'Europe/Berlin'), 1)).toEqual(['2027-10-31T08:00:00.000Z'])
  })

  it('keeps 9:00 in New York across the change to summer time and back', () => {
    expect(upcoming(series('2027-03-13T14:00:00.000Z', 'America/New_York'), 1)).toEqual(['2027-03-14T13:00:00.000Z'])
    expect(upcoming(series('2027-11-06T13:00:00.000Z', 'America/New_York'), 1)).toEqual(['2027-11-07T14:00:00.000Z'])
  })

  it('moves a time the clocks skip forward by the gap, and keeps the time again the day after', () => {
    // 2:30 does not exist on 2027-03-14 in New York: 3:30 EDT, as RFC 5545 reads such a time.
    expect(upcoming(series('2027-03-13T07:30:00.000Z', 'America/New_York'), 2)).toEqual([
      '2027-03-14T07:30:00.000Z',
      '2027-03-15T06:30:00.000Z',
    ])
    // 2:30 does not exist on 2027-03-28 in Berlin: 3:30 CEST.
    expect(upcoming(series('2027-03-27T01:30:00.000Z', 'Europe/Berlin'), 2)).toEqual([
      '2027-03-28T01:30:00.000Z',
      '2027-03-29T00:30:00.000Z',
    ])
  })

  it('takes the first of a repeated time when the clocks go back', () => {
    // 1:30 happens twice on 2027-11-07 in New York: the EDT one (UTC-4) comes first.
    expect(upcoming(series('2027-11-06T05:30:00.000Z', 'America/New_York'), 2)).toEqual([
      '2027-11-07T05:30:00.000Z',
      '2027-11-08T06:30:00.000Z',
    ])
    // 2:30 happens twice on 2027-10-31 in Berlin: the CEST one (UTC+2) comes first.
    expect(upcoming(series('2027-10-30T00:30:00.000Z', 'Europe/Berlin'), 2)).toEqual([
      '2027-10-31T00:30:00.000Z',
      '2027-11-01T01:30:00.000Z',
    ])
  })
})

describe('nextOccurrence: until and count', () => {
  it('includes an occurrence exactly at until and stops after it', () => {
    const s = series('2027-01-01T09:00:00.000Z', 'UTC', { until: '2027-01-03T09:00:00.000Z' })
    expect(upcoming(s, 3)).toEqual(['2027-01-02T09:00:00.000Z', '2027-01-03T09:00:00.000Z', undefined])
    expect(
      nextOccurrence(
        series(s.start, 'UTC', { until: '2027-01-03T08:59:59.999Z' }),
        '2027-01-02T09:00:00.000Z',
        '2027-01-02T09:00:00.000Z',
      ),
    ).toBeNull()
  })

  it('stops after count occurrences, the first one included', () => {
    const s = series('2027-01-01T09:00:00.000Z', 'UTC', { count: 3 })
    expect(upcoming(s, 3)).toEqual(['2027-01-02T09:00:00.000Z', '2027-01-03T09:00:00.000Z', undefined])
    expect(nextOccurrence(series(s.start, 'UTC', { count: 1 }), s.start, s.start)).toBeNull()
  })

  it('counts the occurrences a late completion skipped', () => {
    const s = series('2027-01-01T09:00:00.000Z', 'UTC', { count: 5 })
    expect(nextOccurrence(s, s.start, '2027-01-04T10:00:00.000Z')).toEqual({
      dueAt: '2027-01-05T09:00:00.000Z',
      index: 5,
    })
    expect(nextOccurrence(s, s.start, '2027-01-05T10:00:00.000Z')).toBeNull()
  })

  it('counts weekly occurrences across weeks and weekdays', () => {
    // Mon Jan 4, Wed Jan 6 | Mon Jan 11, Wed Jan 13: the fourth is the last.
    const s = series('2027-01-04T09:00:00.000Z', 'UTC', { frequency: 'weekly', weekdays: ['mo', 'we'], count: 4 })
    expect(upcoming(s, 4)).toEqual([
      '2027-01-06T09:00:00.000Z',
      '2027-01-11T09:00:00.000Z',
      '2027-01-13T09:00:00.000Z',
      undefined,
    ])
    expect(nextOccurrence(s, s.start, '2027-01-12T00:00:00.000Z')).toEqual({
      dueAt: '2027-01-13T09:00:00.000Z',
      index: 4,
    })
  })
})

describe('nextOccurrence: late and early completion', () => {
  it('is due strictly after the completion time when the task was finished late', () => {
    const s = series('2027-01-01T09:00:00.000Z', 'UTC')
    // Finished three days late, after that day's 9:00: the next is the day after, not three overdue copies.
    expect(nextOccurrence(s, s.start, '2027-01-04T10:00:00.000Z')).toEqual({
      dueAt: '2027-01-05T09:00:00.000Z',
      index: 5,
    })
    // Finished before that day's 9:00: that 9:00 is still ahead.
    expect(nextOccurrence(s, s.start, '2027-01-04T08:00:00.000Z')).toEqual({
      dueAt: '2027-01-04T09:00:00.000Z',
      index: 4,
    })
    // Finished exactly at an occurrence: strictly after it.
    expect(nextOccurrence(s, s.start, '2027-01-04T09:00:00.000Z')?.dueAt).toBe('2027-01-05T09:00:00.000Z')
  })

  it('is due strictly after the due date when the task was finished early', () => {
    const s = series('2027-01-01T09:00:00.000Z', 'UTC')
    expect(nextOccurrence(s, '2027-01-03T09:00:00.000Z', '2026-12-20T00:00:00.000Z')).toEqual({
      dueAt: '2027-01-04T09:00:00.000Z',
      index: 4,
    })
  })

  it('finds every weekday at 9:00 in Berlin when completed on time, late and twice', () => {
    // Thursday 2027-03-25, 9:00 CET; summer time starts on Sunday 2027-03-28.
    const s = series('2027-03-25T08:00:00.000Z', 'Europe/Berlin', {
      frequency: 'weekly',
      weekdays: ['mo', 'tu', 'we', 'th', 'fr'],
    })
    const onTime = nextOccurrence(s, s.start, '2027-03-25T08:10:00.000Z')
    expect(onTime?.dueAt).toBe('2027-03-26T08:00:00.000Z')
    // Friday's task finished on Monday at 10:00 CEST: Tuesday 9:00 CEST.
    expect(nextOccurrence(s, onTime!.dueAt, '2027-03-29T08:00:00.000Z')?.dueAt).toBe('2027-03-30T07:00:00.000Z')
    // Completing the same task twice computes the same successor.
    expect(nextOccurrence(s, onTime!.dueAt, '2027-03-26T09:00:00.000Z')?.dueAt).toBe('2027-03-29T07:00:00.000Z')
    expect(nextOccurrence(s, onTime!.dueAt, '2027-03-26T09:00:05.000Z')?.dueAt).toBe('2027-03-29T07:00:00.000Z')
  })
})
