/**
 * The worker as `npm run bench` runs it: the production app plus what the bench compares it with.
 * Only the bench builds this module; production ships src/index.ts.
 */
import worker from '../src/index'
import { ladder } from './health-ladder'
import { metered, newMeter, withMeter } from './meter'
import { type PeerBindings, peer } from './peer/app'
import { STUB_MODEL_URL, stubD1, stubLimiter, stubModel } from './stubs'

// wrangler.toml binds it: the bench's bundle must export it as production's does.
export { UserObject } from '../src/index'

// bench/run.mjs uses these paths and this header.
const NOOP_PATH = '/__bench/noop'
const D1_NOOP_PATH = '/__bench/d1'
const LIMITER_NOOP_PATH = '/__bench/limiter'
const STUB_D1_HEADER = 'x-bench-d1'
const METER_HEADER = 'x-bench-meter'
const IN_PROCESS_PATH = '/__bench/in-process'
const REPLAY_HEADER = 'x-bench-replay'
const WEBHOOK_HEADER = 'x-bench-webhook'

/**
 * What bench/run.mjs passes besides the loadtest environment: the webhook the `x-bench-webhook`
 * requests (and so the queue's consumer) deliver to, a receiver in the bench's own process.
 */
type BenchEnv = Env & { BENCH_WEBHOOK_URL: string; BENCH_WEBHOOK_SECRET: string }

// The chat client calls the global fetch: a call to the stub model's URL is answered in this
// isolate, at once; any other (the webhook's deliveries) goes out as it would.
const realFetch = globalThis.fetch
globalThis.fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input)
  return url.startsWith(`${STUB_MODEL_URL}/`) ? stubModel(new Request(input, init)) : realFetch(input, init)
}

/** The app asks D1 for one task more than the page of 50 it sends. */
const stubD1ForApp = stubD1(51)

/** Local D1; the stub D1; local D1 with the webhook on (WEBHOOK_URL and WEBHOOK_SECRET set). */
type Variant = 'local' | 'stub-d1' | 'webhook'

// Every app request gets the stub limiter (bench/stubs.ts), so both the stub-D1 and the local-D1 rows
// measure the worker and D1, not Miniflare's simulated limiter. One env per real env and variant,
// as Workers keeps one per isolate (configuration is cached by it). Only the webhook variant has
// WEBHOOK_URL: no other row's write queues its events.
const stubEnvs: Record<Variant, WeakMap<Env, Env>> = {
  local: new WeakMap(),
  'stub-d1': new WeakMap(),
  webhook: new WeakMap(),
}
function stubbed(env: Env, variant: Variant): Env {
  const cache = stubEnvs[variant]
  let stubbedEnv = cache.get(env)
  if (!stubbedEnv) {
    const { BENCH_WEBHOOK_URL, BENCH_WEBHOOK_SECRET } = env as BenchEnv
    stubbedEnv = {
      ...env,
      USER_RATE_LIMITER: stubLimiter,
      AUTH_FAILURE_RATE_LIMITER: stubLimiter,
      CHAT_RATE_LIMITER: stubLimiter,
      ...(variant === 'stub-d1' && { DB: stubD1ForApp }),
      ...(variant === 'webhook' && { WEBHOOK_URL: BENCH_WEBHOOK_URL, WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET }),
    }
    cache.set(env, stubbedEnv)
  }
  return stubbedEnv
}

const variantOf = (request: Request): Variant =>
  request.headers.has(STUB_D1_HEADER) ? 'stub-d1' : request.headers.has(WEBHOOK_HEADER) ? 'webhook' : 'local'

/** The request on local D1, answered with the rows it read and wrote and its round trips in three more headers. */
async function meteredFetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const meter = newMeter()
  const response = await worker.fetch(request, { ...stubbed(env, variantOf(request)), DB: metered(env.DB, meter) }, ctx)
  return withMeter(response, meter)
}

/**
 * What `--in-process`, the peer budget (test/perf/peer-budget.mjs) and the ladder (bench/ladder.mjs)
 * run: one request, `times` times, inside this isolate.
 */
interface InProcess {
  method: string
  path: string
  headers: Record<string, string>
  body?: string
  times: number
  /** Sent to the naive peer (bench/peer/) with its stub D1 instead of this module's fetch. */
  peer?: boolean
  /** Sent to this rung of the /health ladder (bench/health-ladder.ts) instead. */
  rung?: string
  /** Sent once, answered with the response's status, headers and body as JSON: what the loop would time. */
  probe?: boolean
}

/** The naive peer's env: the stub D1 with its page of 50, and the same secret, so the same token works. */
const peerEnvs = new WeakMap<Env, PeerBindings>()
function peerEnv(env: Env): PeerBindings {
  let bindings = peerEnvs.get(env)
  if (!bindings) {
    bindings = { DB: stubD1(50), BETTER_AUTH_SECRET: env.BETTER_AUTH_SECRET }
    peerEnvs.set(env, bindings)
  }
  return bindings
}

/** The /health ladder's apps, the peer's with the same bindings as peer-budget's. */
const rungs = ladder(peerEnv)

/**
 * The request `times` times through this module's own fetch (the floor's no-op included), the naive
 * peer's or a ladder rung's, with no HTTP: the worker's own CPU, without workerd reading the request
 * and writing the response. A 502 if any answer is not a success: a refused request costs less than
 * a served one. With `probe`, the request once, and what it was answered, for the caller to check.
 */
async function inProcess(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const { method, path, headers, body, times, peer: toPeer, rung, probe } = await request.json<InProcess>()
  type Incoming = Parameters<typeof bench.fetch>[0]
  const rungFetch = rung === undefined ? undefined : rungs[rung]
  if (rung !== undefined && !rungFetch) return new Response(`no rung ${rung}`, { status: 400 })
  const target = rungFetch
    ? (r: Incoming) => rungFetch(r, env, ctx)
    : toPeer
      ? (r: Incoming) => peer.fetch(r, peerEnv(env), ctx)
      : (r: Incoming) => bench.fetch(r, env, ctx)
  const url = new URL(path, request.url).href
  // As an HTTP client sends it: without Content-Length, hono's bodyLimit would stream and copy the body.
  const init =
    body === undefined
      ? { method, headers }
      : { method, headers: { ...headers, 'Content-Length': String(new TextEncoder().encode(body).length) }, body }
  if (probe) {
    const response = await target(new Request(url, init))
    const answer = {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: await response.text(),
    }
    return Response.json(answer)
  }
  for (let i = 0; i < times; i++) {
    const response = await target(new Request(url, init))
    await response.arrayBuffer()
    if (response.status >= 300) return new Response(`${method} ${path} answered ${response.status}`, { status: 502 })
  }
  return new Response(null, { status: 204 })
}

/** A response as the app made it (stub D1), kept to be sent again. */
interface Recorded {
  status: number
  headers: Record<string, string>
  body: string
}
const recorded = new Map<string, Recorded>()

/**
 * What `--replay` runs: the first request goes to the app, every later one with the same method
 * and URL gets the app's response again, built as src/respond.ts builds it (one plain header
 * object), after its body is read. No routing, middleware or handler runs: what is left is workerd's
 * own cost of a request and response of that shape, which no code of ours can remove.
 */
async function replay(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const key = `${request.method} ${request.url}`
  let known = recorded.get(key)
  if (known) {
    if (request.body) await request.arrayBuffer()
  } else {
    const response = await worker.fetch(request, stubbed(env, 'stub-d1'), ctx)
    known = { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() }
    recorded.set(key, known)
  }
  return new Response(known.body, { status: known.status, headers: known.headers })
}

const bench = {
  async fetch(request, env, ctx) {
    // The floor: the cheapest answer the runtime can give, with no routing, middleware or body.
    if (request.url.endsWith(NOOP_PATH)) return new Response(null, { status: 204 })
    // The floor plus one D1 round trip that reads nothing: what local D1 itself costs per request.
    if (request.url.endsWith(D1_NOOP_PATH)) {
      await env.DB.prepare('SELECT 1').first()
      return new Response(null, { status: 204 })
    }
    // The floor plus one call to the simulated rate limiter: what Miniflare's limiter costs.
    if (request.url.endsWith(LIMITER_NOOP_PATH)) {
      await env.USER_RATE_LIMITER.limit({ key: 'bench' })
      return new Response(null, { status: 204 })
    }
    // Once per endpoint, outside the timed load: a new env per request would defeat the config cache.
    if (request.headers.has(METER_HEADER)) return meteredFetch(request, env, ctx)
    if (request.url.endsWith(IN_PROCESS_PATH)) return inProcess(request, env, ctx)
    if (request.headers.has(REPLAY_HEADER)) return replay(request, env, ctx)
    return worker.fetch(request, stubbed(env, variantOf(request)), ctx)
  },
  // Only the webhook variant queues events: its consumer delivers them with the same settings.
  queue: (batch, env) => worker.queue(batch, stubbed(env, 'webhook')),
} satisfies ExportedHandler<Env>

export default bench
