/** The official MCP client, over Streamable HTTP, talking to the worker under test. */
import { Client, StreamableHTTPClientTransport, type VersionNegotiationMode } from '@modelcontextprotocol/client'
import { BASE, fetchWorker } from '../helpers'

export const MCP_URL = `${BASE}/mcp`

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
  })
  const client = new Client({ name: 'tasks-api-tests', version: '1.0.0' }, { versionNegotiation: { mode } })
  await client.connect(transport)
  return client
}
