import { describe, expect, it } from 'vitest'
import * as z from 'zod'
import { recurrenceSchema, timeZoneSchema } from '../../src/recurrence/rule'

const schema = recurrenceSchema(z.iso.datetime({ offset: true }))
const messages = (input: unknown) =>
  schema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)

describe('recurrence rule schema', () => {
  it('fills in the defaults and puts weekdays in week order', () => {
    expect(schema.parse({ frequency: 'daily' })).toEqual({
      frequency: 'daily',
      interval: 1,
      weekdays: null,
      until: null,
      count: null,
    })
    expect(schema.parse({ frequency: 'weekly', weekdays: ['fr', 'mo', 'we'] }).weekdays).toEqual(['mo', 'we', 'fr'])
  })

  it.each([
    [{ frequency: 'hourly' }, 'frequency'],
    [{ frequency: 'daily', interval: 0 }, 'interval'],
    [{ frequency: 'daily', interval: 367 }, 'interval'],
    [{ frequency: 'daily', interval: 1.5 }, 'interval'],
    [{ frequency: 'daily', count: 0 }, 'count'],
    [{ frequency: 'daily', count: 1001 }, 'count'],
    [{ frequency: 'weekly', weekdays: [] }, 'weekdays'],
    [{ frequency: 'weekly', weekdays: ['mo', 'mo'] }, 'weekdays'],
    [{ frequency: 'weekly', weekdays: ['monday'] }, 'weekdays.0'],
    [{ frequency: 'monthly', weekdays: ['mo'] }, 'weekdays'],
    [{ frequency: 'daily', until: 'tomorrow' }, 'until'],
    [{ frequency: 'daily', until: '2027-01-01T00:00:00Z', count: 3 }, 'count'],
    [{ frequency: 'daily', byhour: 9 }, ''],
  ])('refuses %j, naming %s', (input, path) => {
    expect(messages(input)?.[0]?.startsWith(`${path}: `)).toBe(true)
  })

  it('accepts IANA zone names in their canonical spelling and refuses unknown names and bare offsets', () => {
    expect(timeZoneSchema.parse('Europe/Berlin')).toBe('Europe/Berlin')
    expect(timeZoneSchema.parse('america/new_york')).toBe('America/New_York')
    expect(timeZoneSchema.parse('UTC')).toBe('UTC')
    for (const bad of ['Mars/Olympus_Mons', '+01:00', '-05:00', '', 'Europe/Berlin '])
      expect(timeZoneSchema.safeParse(bad).success, bad).toBe(false)
  })
})
