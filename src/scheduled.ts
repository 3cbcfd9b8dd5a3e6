/**
 * The Cron Triggers' handler (`[triggers]` in wrangler.toml). Each job is its own exported
 * function, listed here. Jobs run independently: one that fails is logged and does not keep the
 * others from running, and the invocation still fails afterwards, so Cloudflare records the error.
 */
import { purgeOldEvents } from './events/purge'
import { sweepUndelivered } from './events/queue'
import { purgeExpiredIdempotencyKeys } from './idempotency/repo'
import { sendDueReminders } from './reminders/job'
import { purgeTombstones } from './tasks/sync-repo'

type Job = (env: Env, scheduledTime: number) => Promise<number>

/** The every-minute trigger's cron; any other trigger (the hourly one) runs the purges. */
export const EVERY_MINUTE = '* * * * *'

interface Schedule {
  jobs: Record<string, Job>
  /** The log line's words: what a job did, and what its number counts. */
  done: string
  failed: string
  counted: string
}

const minutely: Schedule = {
  jobs: {
    reminders: (env, time) => sendDueReminders(env, time),
    // Counts the users whose undelivered events it queued again.
    events: (env, time) => sweepUndelivered(env, time),
  },
  done: 'minute job done',
  failed: 'minute job failed',
  counted: 'sent',
}

const hourly: Schedule = {
  jobs: {
    tombstones: (env, time) => purgeTombstones(env.DB, time),
    idempotencyKeys: (env, time) => purgeExpiredIdempotencyKeys(env.DB, new Date(time).toISOString()),
    events: (env, time) => purgeOldEvents(env, time),
  },
  done: 'purge done',
  failed: 'purge failed',
  counted: 'purged',
}

export const scheduled: ExportedHandlerScheduledHandler<Env> = async (controller, env) => {
  const schedule = controller.cron === EVERY_MINUTE ? minutely : hourly
  const failed: string[] = []
  for (const [job, run] of Object.entries(schedule.jobs)) {
    try {
      const count = await run(env, controller.scheduledTime)
      console.log(
        JSON.stringify({
          level: 'info',
          message: schedule.done,
          job,
          cron: controller.cron,
          [schedule.counted]: count,
        }),
      )
    } catch (error) {
      failed.push(job)
      console.error(
        JSON.stringify({ level: 'error', message: schedule.failed, job, cron: controller.cron, error: String(error) }),
      )
    }
  }
  if (failed.length > 0) throw new Error(`scheduled jobs failed: ${failed.join(', ')}`)
}
