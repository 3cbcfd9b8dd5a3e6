/**
 * The MCP client driven by tokens a real Better Auth OAuth provider issued through the
 * authorization-code flow with PKCE (test/better-auth/oauth-flow.ts), verified by the worker in
 * JWKS mode with the keys that server publishes. And the REST API taking such tokens for its own
 * resource, by scope, while session JWTs work as before.
 */
import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import type { Task } from '../../src/tasks/model'
import { expectProblem, request, signJwt, storedTask } from '../helpers'
import { addTaskCall, call, MCP_URL, METADATA_URL, mcpClient, rpc, taskCount, toolError } from './client'

const oauth = inject('oauth')
const { alice, bob } = oauth

afterEach(() => {
  vi.restoreAllMocks()
})

/** JWKS mode against the OAuth provider; its own key cache (JWKS URL) per call, like a new isolate. */
const jwksMode = (extra: Partial<Env> = {}): Partial<Env> => ({
  BETTER_AUTH_SECRET: '',
  BETTER_AUTH_URL: oauth.url,
  JWKS_URL: `${oauth.url}/api/auth/jwks?isolate=${crypto.randomUUID()}`,
  ...extra,
})

const env = jwksMode()

/** A 401 from /mcp: invalid_token, and the pointer to the resource's metadata. */
async function expectMetadataPointer(res: Response) {
  await expectProblem(res, 401)
  const challenge = res.headers.get('WWW-Authenticate') ?? ''
  expect(challenge).toMatch(/^Bearer /)
  expect(challenge).toContain(`resource_metadata="${METADATA_URL}"`)
  return challenge
}

const initialize = addTaskCall(1, {})
initialize.method = 'initialize'
initialize.params = {
  protocolVersion: '2025-11-25',
  capabilities: {},
  clientInfo: { name: 't', version: '1' },
} as never

describe('MCP with Better Auth OAuth access tokens', () => {
  it('lists, adds, completes, edits and deletes its user’s tasks', async () => {
    const client = await mcpClient(alice.mcp, { env })
    const { id: task_id } = (await call(client, 'add_task', { title: 'Through OAuth' })).structuredContent!
    expect(await storedTask(task_id)).toMatchObject({ user_id: alice.id, title: 'Through OAuth' })
    const listed = (await call(client, 'list_tasks')).structuredContent!
    expect(listed.tasks.map((t: Task) => t.id)).toContain(task_id)
    expect((await call(client, 'complete_task', { task_id })).structuredContent).toMatchObject({ status: 'completed' })
    expect((await call(client, 'update_task', { task_id, title: 'Edited' })).structuredContent).toMatchObject({
      status: 'updated',
      title: 'Edited',
    })
    expect((await call(client, 'delete_task', { task_id })).structuredContent).toMatchObject({ status: 'deleted' })
    expect(await storedTask(task_id)).toBeNull()
  })

  it("shows each user only their tasks; B's complete_task and delete_task on A's task change nothing", async () => {
    const a = await mcpClient(alice.mcp, { env })
    const b = await mcpClient(bob.mcp, { env })
    const { id: task_id } = (await call(a, 'add_task', { title: "Alice's" })).structuredContent!
    const { id: bobs } = (await call(b, 'add_task', { title: "Bob's" })).structuredContent!
    const ids = async (client: typeof a) =>
      (await call(client, 'list_tasks', { limit: 100 })).structuredContent!.tasks.map((t: Task) => t.id)
    expect(await ids(b)).not.toContain(task_id)
    expect(await ids(a)).not.toContain(bobs)
    expect(toolError(await call(b, 'complete_task', { task_id }))).toMatch(/another user/)
    expect(toolError(await call(b, 'delete_task', { task_id }))).toMatch(/another user/)
    expect(toolError(await call(b, 'update_task', { task_id, title: 'Mine now' }))).toMatch(/another user/)
    expect(toolError(await call(b, 'list_tasks', { user_id: alice.id }))).toMatch(/user_id/)
    expect(await storedTask(task_id)).toMatchObject({ user_id: alice.id, title: "Alice's", completed: 0, version: 1 })
  })

  it('lets a read-only token list but answers its writes 403 insufficient_scope naming tasks:write', async () => {
    const client = await mcpClient(alice.mcpReadOnly, { env })
    expect((await call(client, 'list_tasks')).isError).toBeFalsy()
    const before = await taskCount(alice.id)
    const res = await rpc(alice.mcpReadOnly, addTaskCall(2, { title: 'Not allowed' }), {}, env)
    expect(res.status).toBe(403)
    const challenge = res.headers.get('WWW-Authenticate') ?? ''
    expect(challenge).toContain('error="insufficient_scope"')
    expect(challenge).toContain('scope="tasks:write"')
    expect(challenge).toContain(`resource_metadata="${METADATA_URL}"`)
    await expect(call(client, 'add_task', { title: 'Not allowed' })).rejects.toThrow(/403|insufficient/i)
    expect(await taskCount(alice.id)).toBe(before)
  })

  it('lets a write-only token write but not list (403 naming tasks:read)', async () => {
    const res = await rpc(
      alice.mcpWriteOnly,
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_tasks', arguments: {} } },
      {},
      env,
    )
    expect(res.status).toBe(403)
    expect(res.headers.get('WWW-Authenticate')).toContain('scope="tasks:read"')
    const client = await mcpClient(alice.mcpWriteOnly, { env })
    expect((await call(client, 'add_task', { title: 'Write only' })).isError).toBeFalsy()
  })

  it('refuses the session JWT with 401 and the metadata pointer, and writes nothing', async () => {
    const before = await taskCount(alice.id)
    await expectMetadataPointer(await rpc(alice.sessionJwt, addTaskCall(1, { title: 'x' }), {}, env))
    await expect(mcpClient(alice.sessionJwt, { env })).rejects.toThrow()
    expect(await taskCount(alice.id)).toBe(before)
  })

  it('refuses a token for another resource, and one for the REST API, with 401 and the pointer', async () => {
    const before = await taskCount(alice.id)
    for (const token of [alice.otherResource, alice.api]) {
      const challenge = await expectMetadataPointer(await rpc(token, addTaskCall(1, { title: 'x' }), {}, env))
      expect(challenge).toContain('error="invalid_token"')
    }
    expect(await taskCount(alice.id)).toBe(before)
  })

  it('refuses a JWT from the same keys with every access-token claim but typ at+jwt', async () => {
    // Better Auth's server-only signJWT: the JWT plugin's own tokens, which carry no typ.
    const signed = await fetch(`${oauth.url}/__test/sign-jwt`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        payload: {
          sub: alice.id,
          iss: `${oauth.url}/api/auth`,
          aud: MCP_URL,
          scope: 'tasks:read tasks:write',
          azp: oauth.clientId,
        },
      }),
    })
    const { token } = await signed.json<{ token: string }>()
    expect(token.split('.').length).toBe(3)
    await expectMetadataPointer(await rpc(token, initialize, {}, env))
  })

  it('refuses an expired token with 401 and the pointer', async () => {
    const expiresAt = JSON.parse(atob(alice.mcp.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).exp as number
    const skewMs = 60_000
    vi.spyOn(Date, 'now').mockReturnValue(expiresAt * 1000 + skewMs + 1000)
    const res = await rpc(alice.mcp, initialize, {}, env)
    const problem = await expectProblem(res, 401)
    expect(problem.detail).toMatch(/expired/)
    expect(res.headers.get('WWW-Authenticate')).toContain(`resource_metadata="${METADATA_URL}"`)
  })

  it("refuses the token when the worker expects another issuer than Better Auth's", async () => {
    const res = await rpc(alice.mcp, initialize, {}, jwksMode({ OAUTH_ISSUER: oauth.url }))
    await expectMetadataPointer(res)
  })

  it('publishes RFC 9728 metadata naming the resource, Better Auth as the server, and the scopes', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const res = await request(path, { env })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({
        resource: MCP_URL,
        authorization_servers: [`${oauth.url}/api/auth`],
        scopes_supported: ['tasks:read', 'tasks:write'],
        bearer_methods_supported: ['header'],
        resource_name: 'Tasks',
      })
    }
    // The authorization server it names is the one that issued the tokens, with the same issuer.
    const server = await (await fetch(`${oauth.url}/api/auth/.well-known/oauth-authorization-server`)).json<{
      issuer: string
    }>()
    expect(server.issuer).toBe(`${oauth.url}/api/auth`)
  })

  it('takes the resource from configuration, never from the Host header', async () => {
    const res = await request('/.well-known/oauth-protected-resource/mcp', {
      env,
      headers: { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example' },
    })
    expect(((await res.json()) as { resource: string }).resource).toBe(MCP_URL)
    const refused = await rpc(undefined, initialize, { Host: 'evil.example' }, env)
    expect(refused.headers.get('WWW-Authenticate')).toContain(`resource_metadata="${METADATA_URL}"`)
  })
})

describe('the REST API with OAuth access tokens (API_RESOURCE_URL)', () => {
  const apiEnv = jwksMode({ API_RESOURCE_URL: oauth.resources.api })

  it('reads and writes with a token for its resource carrying both scopes', async () => {
    const created = await request('/tasks', {
      method: 'POST',
      token: alice.api,
      env: apiEnv,
      body: { title: 'Via REST' },
    })
    expect(created.status).toBe(201)
    const task = await created.json<Task>()
    expect(await storedTask(task.id)).toMatchObject({ user_id: alice.id })
    const me = await request('/me', { token: alice.api, env: apiEnv })
    expect(await me.json()).toMatchObject({ sub: alice.id })
  })

  it('answers a read-only token 403 insufficient_scope on writes, and changes nothing', async () => {
    const list = await request('/tasks', { token: alice.apiReadOnly, env: apiEnv })
    expect(list.status).toBe(200)
    const before = await taskCount(alice.id)
    for (const [method, path] of [
      ['POST', '/tasks'],
      ['DELETE', '/tasks?completed=true'],
    ] as const) {
      const res = await request(path, { method, token: alice.apiReadOnly, env: apiEnv, body: { title: 'No' } })
      const problem = await expectProblem(res, 403)
      expect(problem.detail).toMatch(/tasks:write/)
      expect(res.headers.get('WWW-Authenticate')).toContain('error="insufficient_scope", scope="tasks:write"')
    }
    expect(await taskCount(alice.id)).toBe(before)
  })

  it('refuses an MCP token and another resource’s token with 401', async () => {
    for (const token of [alice.mcp, alice.otherResource]) {
      await expectProblem(await request('/tasks', { token, env: apiEnv }), 401)
    }
  })

  it('refuses access tokens altogether while API_RESOURCE_URL is unset', async () => {
    await expectProblem(await request('/tasks', { token: alice.api, env }), 401)
  })

  it('keeps taking session JWTs exactly as before, with or without API_RESOURCE_URL', async () => {
    for (const e of [env, apiEnv]) {
      const res = await request('/tasks', {
        method: 'POST',
        token: alice.sessionJwt,
        env: e,
        body: { title: 'Session' },
      })
      expect(res.status).toBe(201)
    }
  })
})

describe('shared-secret access tokens at /mcp', () => {
  const claims = (extra: Record<string, unknown>) => ({
    sub: `user-${crypto.randomUUID()}`,
    aud: MCP_URL,
    scope: 'tasks:read tasks:write',
    client_id: 'c',
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 900,
    ...extra,
  })

  it('accepts an HS256 token with the MCP audience and a scope', async () => {
    const res = await rpc(await signJwt(claims({})), initialize)
    expect(res.status).toBe(200)
  })

  it('refuses one without scope, without the audience, for another audience, or sender-constrained (cnf)', async () => {
    for (const extra of [
      { scope: undefined },
      { aud: undefined },
      { aud: 'https://other.test/mcp' },
      { client_id: undefined },
      { cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } },
    ]) {
      const payload = claims(extra)
      await expectMetadataPointer(await rpc(await signJwt(payload), initialize))
      expect(await taskCount(payload.sub)).toBe(0)
    }
  })

  it('refuses one whose segments are not canonical base64url, though the signature verifies', async () => {
    const payload = claims({})
    const token = await signJwt(payload)
    const [header, body, signature] = token.split('.') as [string, string, string]
    // 32 signature bytes leave 2 unused bits in the last character: set one of them.
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const flipped = last[last.indexOf(signature.at(-1)!) ^ 1]!
    for (const variant of [`${token}=`, `${header}.${body}.${signature.slice(0, -1)}${flipped}`]) {
      await expectMetadataPointer(await rpc(variant, initialize))
    }
    expect(await taskCount(payload.sub)).toBe(0)
  })

  it('refuses one whose sub holds a control character or a lone surrogate, at /mcp and on the REST API', async () => {
    const api = { API_RESOURCE_URL: 'https://tasks.test/' }
    for (const sub of ['\u0000', '\u0000user', 'user\u001f', 'user\u007f', 'user\ud800']) {
      await expectMetadataPointer(await rpc(await signJwt(claims({ sub })), initialize))
      const token = await signJwt(claims({ sub, aud: api.API_RESOURCE_URL }), {
        header: { alg: 'HS256', typ: 'at+jwt' },
      })
      const problem = await expectProblem(await request('/tasks', { token, env: api }), 401)
      expect(problem.detail).toMatch(/control characters/)
    }
  })

  it('refuses one whose header points at keys of its own choosing (jku, jwk, x5u, x5c)', async () => {
    for (const name of ['jku', 'jwk', 'x5u', 'x5c']) {
      const header = { alg: 'HS256', typ: 'JWT', [name]: name === 'jwk' ? { kty: 'oct' } : 'https://evil.example/keys' }
      await expectMetadataPointer(await rpc(await signJwt(claims({}), { header }), initialize))
    }
  })
})
