import { describe, expect, it } from 'vitest'
import { shareRun } from '../../src/reminders/share'

const shares = (map: Map<string, number>) => Object.fromEntries(map)

describe('shareRun', () => {
  it('gives every user one reminder before any user a second, in the order given', () => {
    const demands = [
      { userId: 'flooder', due: 50, cost: 1 },
      { userId: 'a', due: 1, cost: 1 },
      { userId: 'b', due: 3, cost: 1 },
    ]
    expect(shares(shareRun(demands, { pushes: 2, reminders: 100 }))).toEqual({ flooder: 1, a: 1, b: 0 })
    expect(shares(shareRun(demands, { pushes: 6, reminders: 100 }))).toEqual({ flooder: 3, a: 1, b: 2 })
    // What the others leave goes to whoever still has reminders due.
    expect(shares(shareRun(demands, { pushes: 40, reminders: 100 }))).toEqual({ flooder: 36, a: 1, b: 3 })
  })

  it('skips a user whose next reminder costs more pushes than are left, and serves the cheaper ones', () => {
    const demands = [
      { userId: 'ten-browsers', due: 50, cost: 10 },
      { userId: 'one-browser', due: 2, cost: 1 },
      { userId: 'no-browser', due: 5, cost: 0 },
    ]
    expect(shares(shareRun(demands, { pushes: 12, reminders: 100 }))).toEqual({
      'ten-browsers': 1,
      'one-browser': 2,
      'no-browser': 5,
    })
  })

  it('takes no more reminders than the run allows, nor than a user has due', () => {
    const demands = [
      { userId: 'a', due: 3, cost: 0 },
      { userId: 'b', due: 1, cost: 0 },
    ]
    expect(shares(shareRun(demands, { pushes: 0, reminders: 3 }))).toEqual({ a: 2, b: 1 })
    expect(shares(shareRun(demands, { pushes: 0, reminders: 100 }))).toEqual({ a: 3, b: 1 })
    expect(shares(shareRun([], { pushes: 40, reminders: 100 }))).toEqual({})
  })
})
