/**
 * A fork of hono's cors(), kept because hono's costs two extra copies of every Response (measured
 * with `npm run bench`): it touches c.res before the handler and sets Vary with c.header() after
 * it. This one sends the same headers for our options (the origins in CORS_ORIGINS): a preflight's
 * before it answers, every other response's as common headers (src/respond.ts), the error
 * renderer's included, where a handler's own value wins. The exposed headers come from src/headers.ts.
 */
import { createMiddleware } from 'hono/factory'
import { getConfig } from './config'
import type { AppEnv } from './env'
import { BOOKMARK_HEADER, RESPONSE_HEADERS } from './headers'

const ALLOW_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].join(',')
const ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'If-Match',
  'If-None-Match',
  'Idempotency-Key',
  BOOKMARK_HEADER,
  // MCP clients in a browser (src/mcp/).
  'MCP-Protocol-Version',
].join(',')
const EXPOSE_HEADERS = Object.entries(RESPONSE_HEADERS)
  .flatMap(([name, header]) => ('exposed' in header ? [name] : []))
  .join(',')
const MAX_AGE_SECONDS = '600'

// Before authentication, so that preflights (which never carry a token) succeed.
export const cors = createMiddleware<AppEnv>(async (c, next) => {
  const allowed = getConfig(c.env).corsOrigins
  const origin = c.req.header('Origin')
  const allowOrigin = allowed === '*' ? '*' : origin !== undefined && allowed.has(origin) ? origin : undefined
  if (c.req.method === 'OPTIONS') {
    if (allowOrigin) grant(allowOrigin, (name, value) => c.header(name, value))
    c.header('Access-Control-Expose-Headers', EXPOSE_HEADERS)
    c.header('Access-Control-Max-Age', MAX_AGE_SECONDS)
    c.header('Access-Control-Allow-Methods', ALLOW_METHODS)
    c.header('Access-Control-Allow-Headers', ALLOW_HEADERS)
    c.header('Vary', 'Origin, Access-Control-Request-Headers')
    return c.body(null, 204)
  }
  const common = c.get('commonHeaders')
  if (allowOrigin) grant(allowOrigin, (name, value) => (common[name] = value))
  common['Access-Control-Expose-Headers'] = EXPOSE_HEADERS
  // Which origin is granted depends on the request's Origin: caches must keep them apart.
  common.Vary = 'Origin'
  await next()
})

/** The headers that grant `allowOrigin`, each through `set`. */
function grant(allowOrigin: string, set: (name: string, value: string) => void) {
  set('Access-Control-Allow-Origin', allowOrigin)
  // Pages that fetch with credentials: 'include' need it; browsers refuse it beside '*', so never there.
  if (allowOrigin !== '*') set('Access-Control-Allow-Credentials', 'true')
  // Lets the page read Server-Timing through the Resource Timing API.
  set('Timing-Allow-Origin', allowOrigin)
}
