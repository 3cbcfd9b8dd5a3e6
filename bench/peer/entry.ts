/**
 * The naive peer as `npm run bench -- --peer` runs it (bench/peer.mjs): its app, and the same
 * instant D1 as the project's stub-D1 rows when a request carries the same header (bench/entry.ts).
 */
import { stubD1 } from '../stubs'
import { type PeerBindings, peer } from './app'

const STUB_D1_HEADER = 'x-bench-d1'

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

export default {
  fetch: (request, env, ctx) => peer.fetch(request, request.headers.has(STUB_D1_HEADER) ? stubbed(env) : env, ctx),
} satisfies ExportedHandler<PeerBindings>
