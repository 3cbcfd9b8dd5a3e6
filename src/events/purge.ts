/**
 * The hourly purge of the event log (src/scheduled.ts): events older than EVENT_RETENTION_DAYS, and
 * all but each user's EVENTS_PER_USER newest. Between runs a user may briefly hold more than the
 * bound, by at most the writes of an hour (which the rate limits bound); the write itself never pays
 * for the trim.
 */
import { eventsConfig } from './config'
import { purgeEvents } from './repo'

const DAY_MS = 24 * 60 * 60 * 1000

/** Purges as of `time`, the scheduled run's time; how many events went. Throws when misconfigured. */
export async function purgeOldEvents(env: Env, time: number): Promise<number> {
  const { retentionDays, perUser } = eventsConfig(env)
  if (typeof retentionDays !== 'number') throw new Error(retentionDays.error)
  if (typeof perUser !== 'number') throw new Error(perUser.error)
  return purgeEvents(env.DB, new Date(time - retentionDays * DAY_MS).toISOString(), perUser)
}
