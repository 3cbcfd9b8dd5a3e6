import { app } from './app'
import { scheduled } from './scheduled'

// The Durable Object classes wrangler.toml binds.
export { UserObject } from './live/object'

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>
