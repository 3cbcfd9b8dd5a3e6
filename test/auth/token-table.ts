/**
 * Every combination of a token's `typ`, audience and scope, against every route family, and the
 * status the rule gives each: a session token (no `typ: at+jwt`, no resource audience, no scope or
 * client) is taken by the REST API and never by /mcp; any other token is an access token, taken
 * only by the door its audience names (/mcp for MCP_RESOURCE_URL; /tasks, /api and /me for
 * API_RESOURCE_URL), for what its scope grants, and never by the session-only routes.
 */
import { expect } from 'vitest'
import { request, tokenFor } from '../helpers'
import { RPC_HEADERS, taskCount } from '../mcp/client'

export const TYPS = [undefined, 'JWT', 'at+jwt'] as const
export const SCOPES = [undefined, 'tasks:read', 'tasks:write'] as const
/** none: no `aud`; app: the session tokens' own audience; mcp and api: the two resources. */
export type Audience = 'none' | 'app' | 'mcp' | 'api'

export interface Case {
  typ: (typeof TYPS)[number]
  aud: Audience
  scope: (typeof SCOPES)[number]
}

/** What a route needs of an access token; a session token may do all but /mcp. */
type Needs = 'read' | 'write' | 'session' | 'mcp' | 'mcp-read' | 'mcp-write'

interface Route {
  method: string
  path: string
  body?: unknown
  needs: Needs
  /** The status when the token is taken and allowed; 400 means it got past authentication and scope. */
  ok: number
  /** Creates one task when allowed. */
  creates?: boolean
}

const rpc = (name: string, args?: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id: 1,
  ...(name === 'tools/list' ? { method: name } : { method: 'tools/call', params: { name, arguments: args ?? {} } }),
})

/** One of each family; DELETE /me last, since it erases what the others made. */
export const ROUTES: Route[] = [
  { method: 'GET', path: '/tasks', needs: 'read', ok: 200 },
  { method: 'POST', path: '/tasks', body: { title: 'via /tasks' }, needs: 'write', ok: 201, creates: true },
  { method: 'GET', path: '/api/tasks', needs: 'read', ok: 200 },
  { method: 'POST', path: '/api/tasks', body: { title: 'via /api' }, needs: 'write', ok: 201, creates: true },
  { method: 'GET', path: '/me', needs: 'read', ok: 200 },
  { method: 'GET', path: '/me/push-subscriptions', needs: 'read', ok: 200 },
  // An empty body: 400 once authenticated and allowed to write, so no push service is needed.
  { method: 'POST', path: '/me/push-subscriptions', body: {}, needs: 'write', ok: 400 },
  { method: 'GET', path: '/me/export', needs: 'session', ok: 200 },
  { method: 'POST', path: '/mcp', body: rpc('tools/list'), needs: 'mcp', ok: 200 },
  { method: 'POST', path: '/mcp', body: rpc('list_tasks'), needs: 'mcp-read', ok: 200 },
  {
    method: 'POST',
    path: '/mcp',
    body: rpc('add_task', { title: 'via /mcp' }),
    needs: 'mcp-write',
    ok: 200,
    creates: true,
  },
  { method: 'DELETE', path: '/me', needs: 'session', ok: 204 },
]

export interface Mode {
  /** JWKS mode: an access token must also be typed at+jwt and come from the OAuth issuer. */
  jwks: boolean
  env: Partial<Env>
  /** The audience claim each Audience stands for. */
  audiences: Record<Audience, string | undefined>
  /** Signs the claims with `typ` (absent when undefined). */
  sign: (claims: Record<string, unknown>, typ: string | undefined) => Promise<string>
}

export const isAccessToken = ({ typ, aud, scope }: Case) =>
  typ === 'at+jwt' || aud === 'mcp' || aud === 'api' || scope !== undefined

/** The status the rule gives `token` on `route`, written out from the rule, not from the code. */
export function expectedStatus(token: Case, route: Route, mode: Mode): number {
  const atMcp = route.needs.startsWith('mcp')
  if (!isAccessToken(token)) return atMcp ? 401 : route.ok
  // An access token: only at the door its audience names, with a scope, typed at+jwt in JWKS mode.
  if (mode.jwks && token.typ !== 'at+jwt') return 401
  if (token.aud !== (atMcp ? 'mcp' : 'api') || token.scope === undefined) return 401
  switch (route.needs) {
    case 'session':
      return 403
    case 'mcp':
      return route.ok
    case 'read':
    case 'mcp-read':
      return token.scope === 'tasks:read' ? route.ok : 403
    case 'write':
    case 'mcp-write':
      return token.scope === 'tasks:write' ? route.ok : 403
  }
}

/** Every combination for these audiences, each with its name, for it.each. */
export function named(audiences: readonly Audience[]): [string, Case][] {
  return TYPS.flatMap((typ) =>
    audiences.flatMap((aud) =>
      SCOPES.map((scope): [string, Case] => [
        `typ ${typ ?? 'absent'}, aud ${aud}, scope ${scope ?? 'absent'}`,
        { typ, aud, scope },
      ]),
    ),
  )
}

/**
 * Sends every route the token for `token`, for a fresh user with one task, and asserts each status
 * and the stored effect: the tasks the allowed creates made, or none after an allowed erasure.
 */
export async function runCase(token: Case, mode: Mode) {
  const sub = `user-${crypto.randomUUID()}`
  // The user's own task, made with the default configuration's session token.
  const seeded = await request('/tasks', { method: 'POST', token: await tokenFor(sub), body: { title: 'seed' } })
  expect(seeded.status).toBe(201)
  const aud = mode.audiences[token.aud]
  const claims = {
    sub,
    ...(aud !== undefined && { aud }),
    ...(token.scope !== undefined && { scope: token.scope, client_id: 'table-client' }),
  }
  const bearer = await mode.sign(claims, token.typ)
  const wrong: string[] = []
  let tasks = 1
  for (const route of ROUTES) {
    const res = await request(route.path, {
      method: route.method,
      token: bearer,
      env: mode.env,
      ...(route.body !== undefined && { body: route.body }),
      ...(route.path === '/mcp' && { headers: RPC_HEADERS }),
    })
    const expected = expectedStatus(token, route, mode)
    if (res.status !== expected)
      wrong.push(`${route.method} ${route.path} ${route.needs}: ${res.status}, not ${expected}`)
    await res.body?.cancel()
    if (res.status === route.ok && route.creates) tasks++
    if (res.status === route.ok && route.method === 'DELETE') tasks = 0
  }
  expect(wrong).toEqual([])
  expect(await taskCount(sub)).toBe(tasks)
}
