import { app } from './app'
import { deliverBatch } from './events/queue'
import { scheduled } from './scheduled'

export default {
  fetch: app.fetch,
  scheduled,
  queue: deliverBatch,
} satisfies ExportedHandler<Env>
