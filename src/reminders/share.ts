/**
 * How one run of the reminder job divides its budget between users: round-robin, one reminder per
 * user per round, users in the order given (their oldest due reminder first). Every user gets a
 * reminder before any user gets a second, so an account with thousands due takes one turn per
 * round like everyone else, and whatever the others leave.
 */

export interface Demand {
  userId: string
  /** Reminders due, at most what one run takes of a user. */
  due: number
  /** Push messages one of the user's reminders costs: their subscriptions, or 0 when push is off. */
  cost: number
}

export interface Budget {
  pushes: number
  reminders: number
}

/** Each user's share of the run: how many of their oldest due reminders to take. */
export function shareRun(demands: readonly Demand[], budget: Budget): Map<string, number> {
  const shares = new Map(demands.map((d) => [d.userId, 0]))
  let { pushes, reminders } = budget
  for (let served = true; served && reminders > 0; ) {
    served = false
    for (const { userId, due, cost } of demands) {
      const taken = shares.get(userId)!
      // One whose next reminder does not fit waits for a run with room; one that costs less may still fit.
      if (taken >= due || cost > pushes) continue
      shares.set(userId, taken + 1)
      pushes -= cost
      served = true
      if (--reminders === 0) break
    }
  }
  return shares
}
