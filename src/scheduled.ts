/**
 * The Cron Trigger's handler (`[triggers]` in wrangler.toml). Each job is its own exported
 * function, called here one after another, so that adding a job is adding one line.
 */
import { purgeExpiredIdempotencyKeys } from './idempotency/repo'
import { purgeTombstones } from './tasks/purge-repo'

export const scheduled: ExportedHandlerScheduledHandler<Env> = async (controller, env) => {
  const tombstones = await purgeTombstones(env.DB, controller.scheduledTime)
  console.log(JSON.stringify({ level: 'info', message: 'purged tombstones', cron: controller.cron, tombstones }))
  const idempotencyKeys = await purgeExpiredIdempotencyKeys(env.DB, new Date(controller.scheduledTime).toISOString())
  console.log(JSON.stringify({ level: 'info', message: 'purged idempotency keys', cron: controller.cron, idempotencyKeys }))
}
