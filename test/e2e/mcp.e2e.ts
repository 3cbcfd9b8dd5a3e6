/**
 * What docs/mcp.md promises a newcomer: `npm run dev`, a token from
 * `npm run token -- <sub> --aud <MCP_RESOURCE_URL> --scope "tasks:read tasks:write"`, and the
 * official MCP client manages that user's tasks at /mcp, over real HTTP.
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { beforeAll, describe, expect, it } from 'vitest'
import { type SharedDev, shared, sharedDev } from './shared'

// The shared server's MCP_RESOURCE_URL: configuration, not the URL it happens to listen on (a random port here).
const RESOURCE = shared.mcpResource

function token(sub: string, secret: string, ...args: string[]): string {
  const result = spawnSync(
    process.execPath,
    [path.join(import.meta.dirname, '../../scripts/token.mjs'), sub, ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, BETTER_AUTH_SECRET: secret, JWT_ISSUER: '', JWT_AUDIENCE: '' },
    },
  )
  if (result.status !== 0) throw new Error(`npm run token failed: ${result.stderr}`)
  return result.stdout.trim()
}

describe('an MCP client against npm run dev', () => {
  const { secret } = shared
  let dev: SharedDev | undefined

  beforeAll(async () => {
    dev = await sharedDev()
  })

  const connect = async (bearer: string) => {
    const client = new Client({ name: 'e2e', version: '1.0.0' })
    const transport = new StreamableHTTPClientTransport(new URL(`${dev!.url}/mcp`), {
      authProvider: { token: async () => bearer },
    })
    await client.connect(transport)
    return client
  }

  it('adds, lists, completes, edits and deletes with a token from npm run token --aud --scope', async () => {
    const client = await connect(token('newcomer', secret, '--aud', RESOURCE, '--scope', 'tasks:read tasks:write'))
    const added = await client.callTool({ name: 'add_task', arguments: { title: 'Tried MCP in a minute' } })
    const { id: task_id } = added.structuredContent as { id: string }
    const listed = await client.callTool({ name: 'list_tasks', arguments: {} })
    expect((listed.structuredContent as { tasks: { id: string }[] }).tasks.map((t) => t.id)).toEqual([task_id])
    for (const [name, args, status] of [
      ['complete_task', { task_id }, 'completed'],
      ['update_task', { task_id, title: 'Edited over MCP' }, 'updated'],
      ['delete_task', { task_id }, 'deleted'],
    ] as const) {
      const result = await client.callTool({ name, arguments: args })
      expect(result.structuredContent).toMatchObject({ id: task_id, status })
    }
    await client.close()
  })

  it('prints an at+jwt access token for --scope, which the REST API never takes as a session', async () => {
    const readOnly = token('reader', secret, '--aud', RESOURCE, '--scope', 'tasks:read')
    const header = JSON.parse(Buffer.from(readOnly.split('.')[0]!, 'base64url').toString('utf8'))
    expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt' })
    const session = token('reader', secret)
    for (const [method, path] of [
      ['POST', '/tasks'],
      ['POST', '/api/tasks'],
      ['GET', '/me/export'],
      ['DELETE', '/me'],
    ] as const) {
      const res = await fetch(`${dev!.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${readOnly}`, 'Content-Type': 'application/json' },
        ...(method === 'POST' && { body: JSON.stringify({ title: 'planted' }) }),
      })
      expect(res.status, `${method} ${path}`).toBe(401)
    }
    const tasks = await fetch(`${dev!.url}/tasks`, { headers: { Authorization: `Bearer ${session}` } })
    expect((await tasks.json()) as { items: unknown[] }).toMatchObject({ items: [] })
  })

  it('answers a session token (no --aud, no --scope) 401 with the resource metadata pointer', async () => {
    const res = await fetch(`${dev!.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token('newcomer', secret)}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(res.status).toBe(401)
    expect(res.headers.get('WWW-Authenticate')).toContain(
      'resource_metadata="http://localhost:8787/.well-known/oauth-protected-resource/mcp"',
    )
  })
})
