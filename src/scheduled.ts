/**
 * The Cron Trigger's handler (`[triggers]` in wrangler.toml). Each job is its own exported
 * function, listed here. Jobs run independently: one that fails is logged and does not keep the
 * others from running, and the invocation still fails afterwards, so Cloudflare records the error.
 */
import { purgeExpiredIdempotencyKeys } from './idempotency/repo'
import { purgeTombstones } from './tasks/sync-repo'

const jobs: Record<string, (env: Env, scheduledTime: number) => Promise<number>> = {
  tombstones: (env, time) => purgeTombstones(env.DB, time),
  idempotencyKeys: (env, time) => purgeExpiredIdempotencyKeys(env.DB, new Date(time).toISOString()),
}

export const scheduled: ExportedHandlerScheduledHandler<Env> = async (controller, env) => {
  const failed: string[] = []
  for (const [job, run] of Object.entries(jobs)) {
    try {
      const purged = await run(env, controller.scheduledTime)
      console.log(JSON.stringify({ level: 'info', message: 'purge done', job, cron: controller.cron, purged }))
    } catch (error) {
      failed.push(job)
      console.error(
        JSON.stringify({ level: 'error', message: 'purge failed', job, cron: controller.cron, error: String(error) }),
      )
    }
  }
  if (failed.length > 0) throw new Error(`scheduled jobs failed: ${failed.join(', ')}`)
}
