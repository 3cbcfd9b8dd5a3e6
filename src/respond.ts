/**
 * The headers every response carries (nosniff, no-store, CORS, X-Request-Id, Server-Timing), and
 * the one way handlers build a response with them.
 *
 * The global middleware gathers them as a plain object before the handler runs (c.var.commonHeaders).
 * `respond()` and `json()` make the response in one Response constructor from one plain object:
 * workerd's CPU per request goes mostly to native objects and calls (docs/performance.md), and
 * setting the same headers one by one on a finished Response costs two calls each (has, set), on
 * top of the Headers object hono's c.json() makes for more than one header. Any other response
 * (hono's own, the static docs, a handler's c.body()) gets the same headers after the handler,
 * where the handler's own value wins, as before.
 */
import type { Context, TypedResponse } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status'
import type { InvalidJSONValue, JSONParsed, JSONValue } from 'hono/utils/types'
import type { AppEnv } from './env'
import { setUnlessSet } from './headers'
import { serverTiming } from './observability'

/** Responses built by respond(): they carry every common header already. */
const complete = new WeakSet<Response>()

/**
 * A response with the common headers, then `headers` (which win over them), then the observed ones.
 * Name a header as src/headers.ts and the common ones spell it: a plain object's keys are
 * case-sensitive, and two spellings of one name would both be sent.
 */
export function respond<U extends StatusCode>(
  c: Context<AppEnv>,
  body: BodyInit | null,
  status: U,
  headers?: Record<string, string>,
  contentType?: string,
): Response {
  const all: Record<string, string> = { ...c.get('commonHeaders') }
  if (contentType !== undefined) all['Content-Type'] = contentType
  if (headers !== undefined) for (const name in headers) all[name] = headers[name]!
  all['X-Request-Id'] = c.get('requestId')
  all['Server-Timing'] = serverTiming(c.get('timing'))
  const response = new Response(body, { status, headers: all })
  complete.add(response)
  return response
}

/** The 101 that hands the client its end of a WebSocket (GET /tasks/live), with the common headers. */
export function switchingProtocols(c: Context<AppEnv>, webSocket: WebSocket): Response {
  const headers: Record<string, string> = { ...c.get('commonHeaders') }
  headers['X-Request-Id'] = c.get('requestId')
  headers['Server-Timing'] = serverTiming(c.get('timing'))
  const response = new Response(null, { status: 101, webSocket, headers })
  complete.add(response)
  return response
}

/** respond() for a JSON body, typed as c.json()'s result, so that hono/client sees the same types. */
export const json = <T extends JSONValue | object | InvalidJSONValue, U extends ContentfulStatusCode>(
  c: Context<AppEnv>,
  value: T,
  status: U,
  headers?: Record<string, string>,
) =>
  respond(c, JSON.stringify(value), status, headers, 'application/json') as Response &
    TypedResponse<JSONParsed<T>, U, 'json'>

/** respond() without a body (204, 304), typed as c.body(null)'s result. */
export const empty = <U extends StatusCode>(c: Context<AppEnv>, status: U, headers?: Record<string, string>) =>
  respond(c, null, status, headers) as Response & TypedResponse<null, U, 'body'>

/**
 * Outermost but for the observer: opens c.var.commonHeaders with the security headers (cors adds
 * its own), and puts them on whichever response was not built by respond().
 */
export const commonHeaders = createMiddleware<AppEnv>(async (c, next) => {
  c.set('commonHeaders', {
    'X-Content-Type-Options': 'nosniff',
    // Responses carry one user's data; no shared cache may keep them.
    'Cache-Control': 'no-store',
  })
  await next()
  if (complete.has(c.res)) return
  const { headers } = c.res
  for (const [name, value] of Object.entries(c.get('commonHeaders'))) setUnlessSet(headers, name, value)
  headers.set('X-Request-Id', c.get('requestId'))
  headers.set('Server-Timing', serverTiming(c.get('timing')))
})
