/**
 * What no well-behaved client sends: each is a clear error (a JSON-RPC error object, or a problem
 * before authentication), never a 5xx, and never a stored task. And /mcp is off until configured.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { expectProblem, newUserId, request } from '../helpers'
import { addTaskCall, METADATA_URL, mcpToken, RPC_HEADERS, rpc, rpcMessage, taskCount } from './client'

async function signedIn() {
  const id = newUserId()
  return { id, token: await mcpToken(id) }
}

/** A JSON-RPC error answer: the status, the code, and no task written. */
async function expectRpcError(res: Response, status: number, code: number) {
  expect(res.status).toBe(status)
  const message = await rpcMessage(res)
  expect(message).toMatchObject({ jsonrpc: '2.0', error: { code, message: expect.any(String) } })
  return message.error as { code: number; message: string }
}

describe('malformed and unknown JSON-RPC', () => {
  it('answers a body that is not JSON with a parse error (-32700), writing nothing', async () => {
    const { id, token } = await signedIn()
    for (const body of ['{"jsonrpc":"2.0","id":1,"method":"tools/call"', '', 'not json']) {
      await expectRpcError(await rpc(token, body), 400, -32700)
    }
    expect(await taskCount(id)).toBe(0)
  })

  it('answers a body that is not UTF-8 with a parse error (-32700), writing nothing', async () => {
    const { id, token } = await signedIn()
    const bytes = new TextEncoder().encode(JSON.stringify(addTaskCall(1, { title: 'café' })))
    const at = bytes.indexOf(0xc3)
    // The é as ISO-8859-1 (0xE9) instead of UTF-8 (0xC3 0xA9).
    const body = new Blob([bytes.slice(0, at), new Uint8Array([0xe9]), bytes.slice(at + 2)]).stream()
    const error = await expectRpcError(await rpc(token, body, { 'Content-Type': 'application/json' }), 400, -32700)
    expect(error.message).toMatch(/UTF-8/)
    expect(await taskCount(id)).toBe(0)
  })

  it('answers JSON that is no JSON-RPC message with an invalid request (-32600)', async () => {
    const { token } = await signedIn()
    for (const body of [{ foo: 1 }, 'null', '42', '"text"', { jsonrpc: '1.0', id: 1, method: 'tools/list' }]) {
      await expectRpcError(await rpc(token, body), 400, -32600)
    }
  })

  it('refuses batch arrays with -32600, running none of their calls', async () => {
    const { id, token } = await signedIn()
    const batch = [addTaskCall(1, { title: 'one' }), addTaskCall(2, { title: 'two' })]
    const error = await expectRpcError(await rpc(token, batch), 400, -32600)
    expect(error.message).toMatch(/Batch/)
    await expectRpcError(await rpc(token, []), 400, -32600)
    expect(await taskCount(id)).toBe(0)
  })

  it('answers an unknown method with -32601 and an unknown tool with -32602', async () => {
    const { token } = await signedIn()
    const unknownMethod = await rpc(token, { jsonrpc: '2.0', id: 1, method: 'tasks/drop_all' })
    expect(unknownMethod.status).toBe(200)
    expect(await rpcMessage(unknownMethod)).toMatchObject({ id: 1, error: { code: -32601 } })
    const unknownTool = await rpc(token, {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'drop_tasks', arguments: {} },
    })
    expect(await rpcMessage(unknownTool)).toMatchObject({
      id: 2,
      error: { code: -32602, message: expect.stringMatching(/drop_tasks/) },
    })
  })

  it('answers arguments of the wrong shape with a tool error the model can act on', async () => {
    const { id, token } = await signedIn()
    const res = await rpc(token, addTaskCall(1, { title: { nested: true }, tags: 'not-a-list' }))
    const { result } = await rpcMessage(res)
    expect(result.isError).toBe(true)
    expect(result.content[0].text).toMatch(/title.*tags|tags.*title/s)
    expect(await taskCount(id)).toBe(0)
  })
})

describe('abusive bodies', () => {
  it('refuses a body over the limit with 413 before parsing it, writing nothing', async () => {
    const { id, token } = await signedIn()
    const huge = JSON.stringify(addTaskCall(1, { title: 'x', description: 'y'.repeat(64 * 1024) }))
    await expectRpcError(await rpc(token, huge), 413, -32600)
    // A body streamed without Content-Length is cut off at the limit too.
    const stream = new Blob([huge]).stream()
    await expectRpcError(await rpc(token, stream), 413, -32600)
    expect(await taskCount(id)).toBe(0)
  })

  it('answers deeply nested JSON without a 5xx, writing nothing', async () => {
    const { id, token } = await signedIn()
    const depth = 5000
    const nested = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_task","arguments":{"title":${'['.repeat(depth)}${']'.repeat(depth)}}}}`
    const res = await rpc(token, nested)
    expect(res.status).toBeLessThan(500)
    expect((await rpcMessage(res)).result).toMatchObject({ isError: true })
    const deepParams = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`
    expect((await rpc(token, deepParams)).status).toBeLessThan(500)
    expect(await taskCount(id)).toBe(0)
  })
})

describe('HTTP framing', () => {
  it('refuses a Content-Type other than JSON with 415', async () => {
    const { id, token } = await signedIn()
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await rpc(token, JSON.stringify(addTaskCall(1, { title: 'x' })), { 'Content-Type': type })
      await expectRpcError(res, 415, -32000)
    }
    expect(await taskCount(id)).toBe(0)
  })

  it('refuses an Accept that does not take both JSON and an event stream with 406', async () => {
    const { id, token } = await signedIn()
    for (const accept of ['text/html', 'application/json']) {
      const res = await rpc(token, addTaskCall(1, { title: 'x' }), { Accept: accept })
      await expectRpcError(res, 406, -32000)
    }
    expect(await taskCount(id)).toBe(0)
  })

  it('refuses an unknown MCP-Protocol-Version with 400 naming the supported ones', async () => {
    const { id, token } = await signedIn()
    const res = await rpc(token, addTaskCall(1, { title: 'x' }), { 'MCP-Protocol-Version': '1999-01-01' })
    const error = await expectRpcError(res, 400, -32000)
    expect(error.message).toMatch(/1999-01-01.*2025-11-25/)
    expect(await taskCount(id)).toBe(0)
  })

  it('answers an initialize for an unknown version with a version it supports, as the handshake specifies', async () => {
    const { token } = await signedIn()
    const { 'MCP-Protocol-Version': _, ...headers } = RPC_HEADERS
    const res = await request('/mcp', {
      method: 'POST',
      token,
      headers,
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '1999-01-01', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      },
    })
    expect((await rpcMessage(res)).result.protocolVersion).toBe('2025-11-25')
  })

  it('answers GET and DELETE (no sessions: stateless) and other methods with 405 Allow: POST', async () => {
    const { token } = await signedIn()
    for (const method of ['GET', 'DELETE', 'PUT', 'PATCH']) {
      const res = await request('/mcp', { method, token, headers: { Accept: 'text/event-stream' } })
      expect(res.status).toBe(405)
      expect(res.headers.get('Allow')).toBe('POST')
    }
  })

  it('keeps the headers every response has (request id, nosniff), from the SDK and from our refusals', async () => {
    const { token } = await signedIn()
    for (const body of [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }, 'not json', [], 'x'.repeat(32 * 1024)]) {
      const res = await rpc(token, body)
      expect(res.headers.get('X-Request-Id'), String(body).slice(0, 20)).toBeTruthy()
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
    }
  })
})

describe('authentication before anything else', () => {
  it('answers no token, or a malformed one, 401 with the metadata pointer before reading the body', async () => {
    for (const token of [undefined, 'not-a-jwt']) {
      const res = await rpc(token, '{not even json')
      await expectProblem(res, 401)
      expect(res.headers.get('WWW-Authenticate')).toContain(`resource_metadata="${METADATA_URL}"`)
    }
  })

  it('refuses a session token (no aud, no scope) at /mcp', async () => {
    const { id } = await signedIn()
    const { tokenFor } = await import('../helpers')
    await expectProblem(await rpc(await tokenFor(id), addTaskCall(1, { title: 'x' })), 401)
    expect(await taskCount(id)).toBe(0)
  })
})

describe('browser-based MCP clients', () => {
  it('may send MCP-Protocol-Version from a listed origin and read the WWW-Authenticate of a 401', async () => {
    const origin = 'https://app.example.com'
    const preflight = await request('/mcp', {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'mcp-protocol-version',
      },
    })
    expect(preflight.headers.get('Access-Control-Allow-Headers')?.toLowerCase().split(',')).toContain(
      'mcp-protocol-version',
    )
    const refused = await rpc(undefined, addTaskCall(1, { title: 'x' }), { Origin: origin })
    expect(refused.headers.get('Access-Control-Allow-Origin')).toBe(origin)
    expect(refused.headers.get('Access-Control-Expose-Headers')?.split(',')).toContain('WWW-Authenticate')
  })

  it('may read the resource metadata from any origin', async () => {
    const res = await request('/.well-known/oauth-protected-resource/mcp', {
      headers: { Origin: 'https://inspector.example' },
    })
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*')
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=300')
  })
})

describe('configuration', () => {
  it('keeps /mcp and its metadata off (404) until MCP_RESOURCE_URL is set', async () => {
    const off = { MCP_RESOURCE_URL: '' }
    const { token } = await signedIn()
    await expectProblem(await rpc(token, addTaskCall(1, { title: 'x' }), {}, off), 404)
    await expectProblem(await request('/.well-known/oauth-protected-resource/mcp', { env: off }), 404)
  })

  it('says once, in the configuration check, that /mcp is off', async () => {
    const logged = vi.spyOn(console, 'info').mockImplementation(() => {})
    const off = { MCP_RESOURCE_URL: '' }
    await request('/health', { env: off })
    await request('/mcp', { method: 'POST', env: off })
    const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)) as { message: string })
    expect(lines.filter((line) => /MCP_RESOURCE_URL is not set/.test(line.message))).toHaveLength(1)
    logged.mockRestore()
  })

  it('fails closed (500) with a resource URL that is not https or not this /mcp', async () => {
    const { token } = await signedIn()
    for (const url of ['http://tasks.example.com/mcp', 'https://tasks.example.com/api', 'https://tasks.test/mcp#x']) {
      await expectProblem(await rpc(token, addTaskCall(1, { title: 'x' }), {}, { MCP_RESOURCE_URL: url }), 500)
    }
  })

  it('takes tokens only for the configured resource, whatever the request URL says', async () => {
    const id = newUserId()
    const elsewhere = { MCP_RESOURCE_URL: 'https://tasks.example.com/mcp' }
    // The request goes to https://tasks.test/mcp; the token names that URL; the resource is another.
    await expectProblem(await rpc(await mcpToken(id), addTaskCall(1, { title: 'x' }), {}, elsewhere), 401)
    expect(env.MCP_RESOURCE_URL).toBe('https://tasks.test/mcp')
  })
})
