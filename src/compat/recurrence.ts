/**
 * What a /api body that names the rule by the frontends' enum, or a reminder by its offset, means for
 * the task as stored. A frontend sends back the enum it was shown (`"daily"`), which cannot carry
 * weekdays, until or count: an unchanged frequency and interval keep the stored rule as it is.
 */
import type { Task } from '../tasks/model'
import type { TaskPatch } from '../tasks/requests'
import { type ApiChanges, before, ruleNamed } from './requests'
import { invalidBody } from './validate'

/** True when `changes` can only be written once the task is read. */
export const needsStored = (changes: ApiChanges) => changes.series !== undefined || changes.remindBefore !== undefined

/** The patch `changes` make to `stored`, or a 422 that names the field it cannot apply. */
export function againstStored(changes: ApiChanges, stored: Task): TaskPatch {
  const patch = { ...changes.patch }
  const { series, remindBefore } = changes
  if (series) {
    const rule = stored.recurrence
    const frequency = series.frequency ?? rule?.frequency
    if (frequency === undefined) throw invalidBody('recurrence_interval', 'needs a recurrence: the task has none')
    if (rule && rule.frequency === frequency) {
      if (series.interval !== undefined && series.interval !== rule.interval) {
        patch.recurrence = { ...rule, interval: series.interval }
      }
    } else patch.recurrence = ruleNamed(frequency, series.interval)
  }
  if (remindBefore !== undefined) {
    if (stored.dueAt === null) throw invalidBody('reminder_offset_minutes', 'needs a due_date: the task has none')
    const remindAt = before(stored.dueAt, remindBefore)
    if (remindAt === undefined) throw invalidBody('reminder_offset_minutes', 'puts the reminder before the year 0000')
    patch.remindAt = remindAt
  }
  return patch
}
