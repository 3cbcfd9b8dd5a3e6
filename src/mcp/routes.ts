/**
 * POST /mcp: the MCP endpoint, Streamable HTTP served statelessly by the SDK's createMcpHandler
 * (each request is answered by a fresh server and holds nothing afterwards). It serves the
 * 2026-07-28 protocol and, for older clients, the 2025 `initialize` handshake; GET and DELETE (a
 * 2025 session's event stream and its end) are 405, as there is no session.
 *
 * In front of it, the REST API's own: authentication (an access token for MCP_RESOURCE_URL only),
 * the same rate limits (each HTTP request counts once), the D1 session and the body limit.
 */
import { createMcpHandler } from '@modelcontextprotocol/server'
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import { requireMcpAccess } from '../auth'
import { getConfig } from '../config'
import type { AppEnv } from '../env'
import { notFound, serverMisconfigured } from '../problem'
import { rateLimitWith } from '../ratelimit'
import { json } from '../respond'
import { d1Session } from '../session'
import { decodeUtf8 } from '../utf8-body'
import { tasksServer } from './tools'

/** The same bound as the REST API's: a tool call is a few fields, as a task is. */
export const MAX_MCP_BODY_BYTES = 16 * 1024

/** JSON-RPC's own error codes, for what we refuse before the SDK sees the request. */
const PARSE_ERROR = -32700
const INVALID_REQUEST = -32600

const jsonRpcError = (c: Context<AppEnv>, status: 400 | 413, code: number, message: string) =>
  json(c, { jsonrpc: '2.0', id: null, error: { code, message } }, status)

/** /mcp exists only once MCP_RESOURCE_URL is set (the configuration check logs that it is off). */
const enabled = createMiddleware<AppEnv>(async (c, next) => {
  const { oauth } = getConfig(c.env)
  if ('error' in oauth) throw serverMisconfigured()
  if (oauth.mcpResource === undefined) throw notFound('There is no such resource.')
  await next()
})

const limitBody = bodyLimit({
  maxSize: MAX_MCP_BODY_BYTES,
  onError: (c) =>
    jsonRpcError(c, 413, INVALID_REQUEST, `The request body must not exceed ${MAX_MCP_BODY_BYTES} bytes.`),
})

export const mcpRoutes = new Hono<AppEnv>()
  .use(enabled)
  .use(rateLimitWith(requireMcpAccess))
  .use(d1Session)
  .use(limitBody)
  // `all`: the SDK answers each method itself (405 for GET and DELETE), and /mcp is no REST operation.
  .all('/', async (c) => {
    const { oauth } = getConfig(c.env)
    if ('error' in oauth || oauth.mcpResource === undefined || oauth.mcpMetadataUrl === undefined) {
      throw serverMisconfigured()
    }
    let parsedBody: unknown
    if (c.req.method === 'POST') {
      // Strictly: a byte that is not UTF-8 would otherwise reach a tool as U+FFFD.
      const text = decodeUtf8(await c.req.arrayBuffer())
      if (text === undefined) return jsonRpcError(c, 400, PARSE_ERROR, 'The request body is not valid UTF-8.')
      try {
        parsedBody = JSON.parse(text)
      } catch {
        return jsonRpcError(c, 400, PARSE_ERROR, 'The request body is not valid JSON.')
      }
      // The current protocol has no batches, and each request must count once against the rate limit.
      if (Array.isArray(parsedBody)) {
        return jsonRpcError(
          c,
          400,
          INVALID_REQUEST,
          'Batch requests are not supported: send one JSON-RPC message per request.',
        )
      }
    }
    const grant = c.get('grant')
    const handler = createMcpHandler(() => tasksServer(c), {
      maxRequestBodySize: MAX_MCP_BODY_BYTES,
      onerror: (error) =>
        console.warn(
          JSON.stringify({
            level: 'warn',
            message: 'MCP request refused',
            requestId: c.get('requestId'),
            error: String(error),
          }),
        ),
    })
    const response = await handler.fetch(c.req.raw, {
      parsedBody,
      authInfo: {
        // The token itself stays in src/auth/; the tools need only what it grants.
        token: '',
        clientId: grant?.clientId ?? '',
        scopes: [...(grant?.scopes ?? [])],
        resource: new URL(oauth.mcpResource),
        resourceMetadataUrl: oauth.mcpMetadataUrl,
      },
    })
    // Through hono, so the headers the app sets on every response (request id, no-store, CORS) are kept.
    return c.newResponse(response.body, response)
  })
