/**
 * The naive peer as `npm run bench -- --peer` runs it (bench/peer.mjs): its app, and the same
 * instant D1 as the project's stub-D1 rows when a request carries the same header (bench/entry.ts).
 * A request with `x-bench-meter` is answered with the rows it read and wrote on local D1, as the
 * project's are (bench/ladder.mjs prints them).
 */
import { metered, newMeter, withMeter } from '../meter'
import { stubD1 } from '../stubs'
import { type PeerBindings, peer } from './app'

const STUB_D1_HEADER = 'x-bench-d1'
const METER_HEADER = 'x-bench-meter'

const stubbedEnvs = new WeakMap<PeerBindings, PeerBindings>()
function stubbed(env: PeerBindings): PeerBindings {
  let stubbedEnv = stubbedEnvs.get(env)
  if (!stubbedEnv) {
    // The peer sends the page it asks for: 50 rows.
    stubbedEnv = { ...env, DB: stubD1(50) }
    stubbedEnvs.set(env, stubbedEnv)
  }
  return stubbedEnv
}

/** Once, outside any timed load. Its schema check runs again on the metered binding: it writes no rows. */
async function meteredFetch(request: Request, env: PeerBindings, ctx: ExecutionContext): Promise<Response> {
  const meter = newMeter()
  return withMeter(await peer.fetch(request, { ...env, DB: metered(env.DB, meter) }, ctx), meter)
}

export default {
  fetch: (request, env, ctx) =>
    request.headers.has(STUB_D1_HEADER)
      ? peer.fetch(request, stubbed(env), ctx)
      : request.headers.has(METER_HEADER)
        ? meteredFetch(request, env, ctx)
        : peer.fetch(request, env, ctx),
} satisfies ExportedHandler<PeerBindings>
