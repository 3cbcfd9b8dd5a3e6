/**
 * `GET /health` apps for the ladder (bench/ladder.mjs): from the naive peer's bare Hono route to the
 * production app, each adding one of the app's global features, built from the app's own exported
 * middleware and helpers. Each rung's added CPU is what that feature costs a request. Bench only.
 */
import { Hono } from 'hono'
import { app } from '../src/app'
import { cors } from '../src/cors'
import type { AppEnv } from '../src/env'
import { observe } from '../src/observability'
import { methodNotAllowed, onError, onNotFound } from '../src/problem'
import { commonHeaders, json } from '../src/respond'
import { type PeerBindings, peer } from './peer/app'

/** A rung's fetch, called as workerd calls a module's. */
type Fetch = (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response>

/** The peer's /health answer, the app's shape: `{ "status": "ok" }`. */
const OK = { status: 'ok' as const }

// The loop's own cost: building the Request, awaiting an answer, reading its (empty) body.
const floor: Fetch = () => new Response(null, { status: 204 })

// The peer's route alone, without its /tasks routes and their middleware.
const bare = new Hono().get('/health', (c) => c.json(OK))

// + the request id, the Server-Timing clock and the (sampled) request log line.
const observed = new Hono<AppEnv>().use(observe).get('/health', (c) => c.json(OK))

// + the security headers gathered as a plain object, and the response built once from them with
// X-Request-Id and Server-Timing (src/respond.ts).
const headed = new Hono<AppEnv>()
  .use(observe)
  .use(commonHeaders)
  .get('/health', (c) => json(c, OK, 200))

// + CORS (src/cors.ts): its headers added to the common ones.
const corsed = new Hono<AppEnv>()
  .use(observe)
  .use(commonHeaders)
  .use(cors)
  .get('/health', (c) => json(c, OK, 200))

// + what else src/app.ts declares for /health: the 405 for other methods, the problem renderers.
const healthAlone = new Hono<AppEnv>()
  .use(observe)
  .use(commonHeaders)
  .use(cors)
  .get('/health', (c) => json(c, OK, 200))
  .all('/health', () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })
healthAlone.notFound(onNotFound)
healthAlone.onError(onError)

/**
 * The rungs, cheapest first, by the name bench/ladder.mjs sends. `peerEnv` gives the peer its own
 * bindings; every other rung gets the bench's env (only the configuration is read: /health touches
 * no binding).
 */
export function ladder(peerEnv: (env: Env) => PeerBindings): Record<string, Fetch> {
  return {
    floor,
    peer: (request, env, ctx) => peer.fetch(request, peerEnv(env), ctx),
    bare: (request, env, ctx) => bare.fetch(request, env, ctx),
    observe: (request, env, ctx) => observed.fetch(request, env, ctx),
    respond: (request, env, ctx) => headed.fetch(request, env, ctx),
    cors: (request, env, ctx) => corsed.fetch(request, env, ctx),
    'health-alone': (request, env, ctx) => healthAlone.fetch(request, env, ctx),
    // Every route registered, and src/app.ts's own getPath: the production app, as src/index.ts exports it.
    app: (request, env, ctx) => app.fetch(request, env, ctx),
  }
}
