/**
 * An access token is never a session token. In shared-secret mode, a token not typed `at+jwt` was
 * once taken by the REST API as a session JWT whatever its claims said: the read-only token that
 * `npm run token -- alice --aud <MCP URL> --scope tasks:read` printed (the one docs/mcp.md has an
 * operator give an assistant) could create and change tasks through /tasks and /api, export the
 * account and erase it. These replay that, and the rule that now decides what a token is.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { Task } from '../../src/tasks/model'
import { expectProblem, newUserId, request, signIn, storedTask, tokenFor } from '../helpers'
import { MCP_URL, taskCount } from '../mcp/client'

const API = 'https://tasks.test/'

/** What `npm run token -- <sub> --aud <aud> --scope <scope>` printed before the fix: hono's sign(), typ JWT. */
const printedToken = (sub: string, aud: string, scope = 'tasks:read') =>
  tokenFor(sub, { aud, scope, client_id: 'npm-run-token' })

/** A user with one task, made with their own session token, and a read-only token for `aud`. */
async function victim(aud = MCP_URL) {
  const user = await signIn()
  const task = await user.createTask({ title: 'mine' })
  return { user, task, readOnly: await printedToken(user.id, aud) }
}

/** Every way the finding changed or took the account, with `token`; each must be refused. */
async function attack(token: string, task: Task, envOverrides: Partial<Env> = {}) {
  const as = { token, env: envOverrides }
  return {
    createTask: await request('/tasks', { ...as, method: 'POST', body: { title: 'planted' } }),
    patchTask: await request(`/tasks/${task.id}`, { ...as, method: 'PATCH', body: { title: 'changed' } }),
    createViaApi: await request('/api/tasks', { ...as, method: 'POST', body: { title: 'planted' } }),
    completeViaApi: await request(`/api/tasks/${task.number}/complete`, { ...as, method: 'PATCH' }),
    exportAccount: await request('/me/export', as),
    eraseAccount: await request('/me', { ...as, method: 'DELETE' }),
  }
}

describe("the read-only MCP token 'npm run token' prints, on the REST API", () => {
  for (const [what, overrides] of [
    ['API_RESOURCE_URL unset', {}],
    ['API_RESOURCE_URL set', { API_RESOURCE_URL: API }],
  ] as const) {
    it(`is 401 everywhere and changes, exports and erases nothing (${what})`, async () => {
      const { user, task, readOnly } = await victim()
      const responses = await attack(readOnly, task, overrides)
      for (const [name, res] of Object.entries(responses)) {
        expect(res.status, name).toBe(401)
        await expectProblem(res, 401)
      }
      expect(await taskCount(user.id)).toBe(1)
      expect(await storedTask(task.id)).toMatchObject({ title: 'mine', completed: 0, version: 1 })
    })
  }

  it('still works at /mcp, where it was meant to', async () => {
    const { readOnly } = await victim()
    const res = await request('/mcp', {
      method: 'POST',
      token: readOnly,
      headers: { Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2025-11-25' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_tasks', arguments: {} } },
    })
    expect(res.status).toBe(200)
  })
})

describe('a token that names a resource, a scope or a client', () => {
  it('is an access token whatever its typ: never a session on /tasks, /api or /me', async () => {
    const sub = newUserId()
    // The audience of an access token for the REST API must be configured to be one.
    const overrides = { API_RESOURCE_URL: API }
    const claims = [
      { aud: MCP_URL },
      { aud: [API, 'https://elsewhere.test'] },
      { scope: '' },
      { scope: 'tasks:read tasks:write' },
      { client_id: 'app' },
      { azp: 'app' },
    ]
    for (const typ of [undefined, 'JWT', 'application/jwt']) {
      for (const extra of claims) {
        const header = { alg: 'HS256', ...(typ !== undefined && { typ }) }
        const token = await tokenFor(sub, extra, { header })
        const label = JSON.stringify({ typ, ...extra })
        for (const [method, path] of [
          ['GET', '/tasks'],
          ['POST', '/tasks'],
          ['GET', '/api/tasks'],
          ['GET', '/me'],
          ['GET', '/me/export'],
          ['DELETE', '/me'],
        ] as const) {
          const body = method === 'POST' ? { title: 'x' } : undefined
          const res = await request(path, { method, token, body, env: overrides })
          expect(res.status, `${method} ${path} ${label}`).toBe(401)
        }
      }
    }
    expect(await taskCount(sub)).toBe(0)
  })

  it('is an access token when typed at+jwt, even with none of those claims', async () => {
    const user = await signIn()
    await user.createTask()
    const token = await tokenFor(user.id, {}, { header: { alg: 'HS256', typ: 'at+jwt' } })
    for (const overrides of [{}, { API_RESOURCE_URL: API }]) {
      for (const [method, path] of [
        ['GET', '/tasks'],
        ['GET', '/me/export'],
        ['DELETE', '/me'],
      ] as const) {
        await expectProblem(await request(path, { method, token, env: overrides }), 401)
      }
    }
    expect(await taskCount(user.id)).toBe(1)
  })
})

describe('an access token for the REST API (API_RESOURCE_URL)', () => {
  it('may read with tasks:read, but is 403 on GET /me/export and DELETE /me, which only a session may use', async () => {
    const { user, task, readOnly } = await victim(API)
    const overrides = { API_RESOURCE_URL: API }
    expect((await request('/tasks', { token: readOnly, env: overrides })).status).toBe(200)
    const writer = await tokenFor(user.id, { aud: API, scope: 'tasks:read tasks:write', client_id: 'app' })
    for (const token of [readOnly, writer]) {
      for (const [method, path] of [
        ['GET', '/me/export'],
        ['DELETE', '/me'],
      ] as const) {
        const problem = await expectProblem(await request(path, { method, token, env: overrides }), 403)
        expect(problem.detail).toMatch(/session token/)
      }
    }
    expect(await taskCount(user.id)).toBe(1)
    expect(await storedTask(task.id)).toMatchObject({ user_id: user.id, title: 'mine' })
  })
})

describe('session tokens', () => {
  it('are refused at /mcp as session tokens, with the metadata pointer', async () => {
    const user = await signIn()
    const res = await request('/mcp', {
      method: 'POST',
      token: user.token,
      headers: { Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2025-11-25' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    })
    expect((await expectProblem(res, 401)).detail).toBe('/mcp takes OAuth access tokens, not session tokens.')
    expect(res.headers.get('WWW-Authenticate')).toContain('resource_metadata=')
  })

  it('are what they were: no typ or typ JWT, no resource audience, no scope or client', async () => {
    const user = await signIn()
    for (const header of [{ alg: 'HS256' }, { alg: 'HS256', typ: 'JWT' }]) {
      const token = await tokenFor(user.id, { aud: 'https://app.example.com' }, { header })
      expect((await request('/tasks', { method: 'POST', token, body: { title: 's' } })).status).toBe(201)
      expect((await request('/me/export', { token })).status).toBe(200)
    }
    expect(env.MCP_RESOURCE_URL).toBe(MCP_URL)
    expect((await request('/me', { method: 'DELETE', token: user.token })).status).toBe(204)
    expect(await taskCount(user.id)).toBe(0)
  })
})
