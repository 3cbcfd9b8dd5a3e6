/**
 * A fork of hono's cors(), kept because hono's costs two extra copies of every Response (measured
 * with `npm run bench`): it touches c.res before the handler and sets Vary after it. This one sends
 * the same headers for our options (the origins in CORS_ORIGINS), all set before the handler runs,
 * so they go into the one response hono makes. The exposed headers come from src/headers.ts.
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
  if (allowOrigin) {
    c.header('Access-Control-Allow-Origin', allowOrigin)
    // Pages that fetch with credentials: 'include' need it; browsers refuse it beside '*', so never there.
    if (allowOrigin !== '*') c.header('Access-Control-Allow-Credentials', 'true')
    // Lets the page read Server-Timing through the Resource Timing API.
    c.header('Timing-Allow-Origin', allowOrigin)
  }
  c.header('Access-Control-Expose-Headers', EXPOSE_HEADERS)
  // Which origin is granted depends on the request's Origin: caches must keep them apart.
  c.header('Vary', 'Origin')
  if (c.req.method === 'OPTIONS') {
    c.header('Access-Control-Max-Age', MAX_AGE_SECONDS)
    c.header('Access-Control-Allow-Methods', ALLOW_METHODS)
    c.header('Access-Control-Allow-Headers', ALLOW_HEADERS)
    c.header('Vary', 'Access-Control-Request-Headers', { append: true })
    return c.body(null, 204)
  }
  await next()
})
