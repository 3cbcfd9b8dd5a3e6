/**
 * CORS for the origins in CORS_ORIGINS. The same headers hono's cors() sends for our options, but
 * all set before the handler runs, so they go into the one response hono makes. hono's cors()
 * touches c.res before the handler and sets Vary after it, which costs two extra copies of every
 * Response (measured with `npm run bench`).
 */
import { createMiddleware } from 'hono/factory'
import { getConfig } from './config'
import type { AppEnv } from './env'
import { REPLAYED_HEADER } from './idempotency/key'
import { BOOKMARK_HEADER } from './session'

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
const EXPOSE_HEADERS = [
  'ETag',
  'Location',
  'Retry-After',
  'X-Request-Id',
  REPLAYED_HEADER,
  BOOKMARK_HEADER,
  // Where an MCP client finds the authorization server (RFC 9728 §5.1).
  'WWW-Authenticate',
].join(',')
const MAX_AGE_SECONDS = '600'

// Before authentication, so that preflights (which never carry a token) succeed.
export const cors = createMiddleware<AppEnv>(async (c, next) => {
  const allowed = getConfig(c.env).corsOrigins
  const origin = c.req.header('Origin')
  const allowOrigin = allowed === '*' ? '*' : origin !== undefined && allowed.has(origin) ? origin : undefined
  if (allowOrigin) {
    c.header('Access-Control-Allow-Origin', allowOrigin)
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
