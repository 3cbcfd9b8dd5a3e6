/**
 * The worker as `npm run bench` runs it: the production app plus two reference routes that the
 * endpoints are compared with. Only the bench builds this module; production ships src/index.ts.
 */
import worker from '../src/index'

// bench/run.mjs loads these paths.
const NOOP_PATH = '/__bench/noop'
const D1_NOOP_PATH = '/__bench/d1'

export default {
  async fetch(request, env, ctx) {
    // The floor: the cheapest answer the runtime can give, with no routing, middleware or body.
    if (request.url.endsWith(NOOP_PATH)) return new Response(null, { status: 204 })
    // The floor plus one D1 round trip that reads nothing: what local D1 itself costs per request.
    if (request.url.endsWith(D1_NOOP_PATH)) {
      await env.DB.prepare('SELECT 1').first()
      return new Response(null, { status: 204 })
    }
    return worker.fetch(request, env, ctx)
  },
} satisfies ExportedHandler<Env>
