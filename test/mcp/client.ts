/** The official MCP client, over Streamable HTTP, talking to the worker under test; and raw JSON-RPC. */

import { env } from 'cloudflare:workers'
import { Client, StreamableHTTPClientTransport, type VersionNegotiationMode } from '@modelcontextprotocol/client'
import { expect } from 'vitest'
import { BASE, fetchWorker, newUserId, request, tokenFor } from '../helpers'

export const MCP_URL = `${BASE}/mcp`
export const METADATA_URL = `${BASE}/.well-known/oauth-protected-resource/mcp`

/** A shared-secret (HS256) access token for the MCP resource, as `npm run token -- --aud --scope` makes. */
export const mcpToken = (sub: string, scope = 'tasks:read tasks:write', claims: Record<string, unknown> = {}) =>
  tokenFor(sub, { aud: MCP_URL, scope, client_id: 'test-client', ...claims })

export interface McpClientOptions {
  /** Bindings replaced for this client's requests (then the app runs in this isolate, under any mocked clock). */
  env?: Partial<Env>
  /** 'legacy' (the default): the 2025 initialize handshake; 'auto': the 2026-07-28 protocol when the server has it. */
  mode?: VersionNegotiationMode
}

/** A connected client that sends `token` as its bearer token. */
export async function mcpClient(token: string, { env, mode = 'legacy' }: McpClientOptions = {}): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
    authProvider: { token: async () => token },
    fetch: (url, init) => fetchWorker(url, init, env),
    // A 403 is for the test to see, not to re-authorize (there is no authorization server to ask).
    onInsufficientScope: 'throw',
  })
  const client = new Client({ name: 'tasks-api-tests', version: '1.0.0' }, { versionNegotiation: { mode } })
  await client.connect(transport)
  return client
}

/** A new user with an MCP access token (`scope`, by default read and write) and a connected client. */
export async function mcpUser(scope?: string) {
  const id = newUserId()
  const token = await mcpToken(id, scope)
  return { id, token, client: await mcpClient(token) }
}

/** What a tool call returned, typed for the assertions. */
export interface ToolResult {
  isError?: boolean
  content: { type: string; text: string }[]
  // biome-ignore lint/suspicious/noExplicitAny: a tool's JSON result; each test asserts its shape
  structuredContent?: Record<string, any>
}

export const call = async (client: Client, name: string, args: Record<string, unknown> = {}) =>
  (await client.callTool({ name, arguments: args })) as unknown as ToolResult

/** The text of a tool error, after asserting that it is one. */
export function toolError(result: ToolResult): string {
  expect(result.isError).toBe(true)
  expect(result.structuredContent).toBeUndefined()
  return result.content.map((c) => c.text).join('\n')
}

export const RPC_HEADERS = { Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2025-11-25' }

/** One raw POST to /mcp, for what the official client would never send. */
export const rpc = (
  token: string | undefined,
  body: unknown,
  headers: Record<string, string> = {},
  envOverrides?: Partial<Env>,
) =>
  request('/mcp', {
    method: 'POST',
    ...(token !== undefined && { token }),
    body,
    headers: { ...RPC_HEADERS, ...headers },
    ...(envOverrides && { env: envOverrides }),
  })

/** The JSON-RPC message in a response, whether sent as JSON or as one SSE event. */
// biome-ignore lint/suspicious/noExplicitAny: whatever JSON-RPC the server sent; each test asserts its shape
export async function rpcMessage(res: Response): Promise<Record<string, any>> {
  const text = await res.text()
  const data = res.headers.get('Content-Type')?.startsWith('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('')
    : text
  return JSON.parse(data)
}

/** How many tasks D1 stores for the user: the stored effect of a refused request is none. */
export const taskCount = async (userId: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1').bind(userId).first<{ n: number }>())!.n

export const addTaskCall = (id: number, args: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'add_task', arguments: args },
})
