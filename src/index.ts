import { app } from './app'
import { deliverBatch } from './events/queue'
import { scheduled } from './scheduled'

// The Durable Object classes wrangler.toml binds.
export { UserObject } from './live/object'

export default {
  fetch: app.fetch,
  scheduled,
  queue: deliverBatch,
} satisfies ExportedHandler<Env>
