import { describe, expect, it } from 'vitest'
import type { Recurrence } from '../../src/recurrence/rule'
import { type SeriesFields, seriesStartAfter, successorOf, withDefaultWeekdays } from '../../src/recurrence/successor'

const daily: Recurrence = { frequency: 'daily', interval: 1, weekdays: null, until: null, count: null }
const task = (fields: Partial<SeriesFields>): SeriesFields => ({
  dueAt: '2027-03-27T08:00:00.000Z',
  remindAt: null,
  recurrence: daily,
  timeZone: 'Europe/Berlin',
  seriesStart: '2027-03-27T08:00:00.000Z',
  ...fields,
})

describe('successorOf', () => {
  it('is due at the next occurrence, with the reminder at the same offset from the due date', () => {
    // 8:45 for 9:00 in Berlin; summer time begins overnight.
    expect(successorOf(task({ remindAt: '2027-03-27T07:45:00.000Z' }), '2027-03-27T08:05:00.000Z')).toEqual({
      dueAt: '2027-03-28T07:00:00.000Z',
      remindAt: '2027-03-28T06:45:00.000Z',
    })
  })

  it('is null for a task without a rule, and once the series has ended', () => {
    expect(successorOf(task({ recurrence: null, seriesStart: null }), '2027-03-27T09:00:00.000Z')).toBeNull()
    expect(successorOf(task({ recurrence: { ...daily, count: 1 } }), '2027-03-27T09:00:00.000Z')).toBeNull()
    expect(
      successorOf(task({ recurrence: { ...daily, until: '2027-03-28T06:00:00.000Z' } }), '2027-03-27T09:00:00.000Z'),
    ).toBeNull()
  })
})

describe('seriesStartAfter', () => {
  const before = { recurrence: daily, timeZone: 'Europe/Berlin', seriesStart: '2027-03-01T08:00:00.000Z' }

  it('keeps the series when only the due date moves', () => {
    expect(
      seriesStartAfter(before, { recurrence: daily, timeZone: 'Europe/Berlin', dueAt: '2027-03-05T10:00:00.000Z' }),
    ).toBe(before.seriesStart)
  })

  it('starts a new series at the due date when the rule or the zone changes', () => {
    const dueAt = '2027-03-05T10:00:00.000Z'
    expect(seriesStartAfter(before, { recurrence: { ...daily, interval: 2 }, timeZone: 'Europe/Berlin', dueAt })).toBe(
      dueAt,
    )
    expect(seriesStartAfter(before, { recurrence: daily, timeZone: 'UTC', dueAt })).toBe(dueAt)
    expect(
      seriesStartAfter(
        { recurrence: null, timeZone: 'UTC', seriesStart: null },
        { recurrence: daily, timeZone: 'UTC', dueAt },
      ),
    ).toBe(dueAt)
  })

  it('ends the series when the rule is removed', () => {
    expect(
      seriesStartAfter(before, { recurrence: null, timeZone: 'Europe/Berlin', dueAt: '2027-03-05T10:00:00.000Z' }),
    ).toBeNull()
  })
})

describe('withDefaultWeekdays', () => {
  it("fills in the due date's weekday in the task's zone", () => {
    const weekly: Recurrence = { ...daily, frequency: 'weekly' }
    // Monday 00:30 in Berlin is still Sunday in UTC.
    expect(withDefaultWeekdays(weekly, '2027-01-03T23:30:00.000Z', 'Europe/Berlin').weekdays).toEqual(['mo'])
    expect(withDefaultWeekdays(weekly, '2027-01-03T23:30:00.000Z', 'UTC').weekdays).toEqual(['su'])
    expect(withDefaultWeekdays({ ...weekly, weekdays: ['fr'] }, '2027-01-03T23:30:00.000Z', 'UTC').weekdays).toEqual([
      'fr',
    ])
    expect(withDefaultWeekdays(daily, '2027-01-03T23:30:00.000Z', 'UTC').weekdays).toBeNull()
  })
})
