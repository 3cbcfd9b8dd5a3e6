/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for the MCP resource: where MCP clients learn
 * which authorization server (Better Auth) issues tokens for /mcp, and with which scopes. Served
 * at the path RFC 9728 derives from MCP_RESOURCE_URL, and at the bare well-known path that older
 * clients try. Public, the same for everyone, and built from configuration only, never from Host.
 */
import { Hono } from 'hono'
import { SCOPES } from '../auth'
import { getConfig } from '../config'
import type { AppEnv } from '../env'
import { methodNotAllowed, notFound, serverMisconfigured } from '../problem'
import { json } from '../respond'

export const METADATA_PATH = '/.well-known/oauth-protected-resource'

const CACHE = 'public, max-age=300'

export const resourceMetadata = new Hono<AppEnv>()

// `all`, not `get`: these are no REST operations (the OpenAPI document lists only those).
for (const path of [METADATA_PATH, `${METADATA_PATH}/mcp`]) {
  resourceMetadata.all(path, (c) => {
    const { oauth } = getConfig(c.env)
    if ('error' in oauth) throw serverMisconfigured()
    if (oauth.mcpResource === undefined) throw notFound('There is no such resource.')
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') throw methodNotAllowed(['GET', 'HEAD'])
    return json(
      c,
      {
        resource: oauth.mcpResource,
        authorization_servers: oauth.issuer === undefined ? [] : [oauth.issuer],
        scopes_supported: [SCOPES.read, SCOPES.write],
        bearer_methods_supported: ['header'],
        resource_name: 'Tasks',
      },
      200,
      // Browser-based MCP clients read it from another origin; it holds nothing private.
      { 'Cache-Control': CACHE, 'Access-Control-Allow-Origin': '*' },
    )
  })
}
