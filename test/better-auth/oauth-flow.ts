/**
 * The OAuth 2.1 authorization-code flow with PKCE against a real Better Auth server running
 * `@better-auth/oauth-provider`, driven over HTTP as an MCP client and its user would: dynamic
 * client registration, sign-in, /oauth2/authorize with `resource`, consent, and the token
 * exchange. Runs in Node (global set-up); the tokens it gets are handed to the workerd tests.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { OAuthGrants, OAuthUser } from './instances'

const PASSWORD = 'correct-horse-battery-staple'
// A native (desktop) client's loopback redirect; nothing listens there: the code is read from the redirect URL.
const REDIRECT_URI = 'http://127.0.0.1:9/callback'

async function json<T>(response: Response, expected: number): Promise<T> {
  const text = await response.text()
  if (response.status !== expected) throw new Error(`${response.url}: HTTP ${response.status}: ${text}`)
  return JSON.parse(text) as T
}

/** RFC 7591 dynamic registration of a public client, as MCP clients register themselves. */
async function registerClient(base: string): Promise<string> {
  const client = await json<{ client_id: string }>(
    await fetch(`${base}/api/auth/oauth2/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_name: 'MCP test client',
        application_type: 'native',
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        scope: 'tasks:read tasks:write',
      }),
    }),
    201,
  )
  return client.client_id
}

async function signUp(base: string, name: string) {
  const email = `${name}-${crypto.randomUUID()}@example.com`
  const res = await fetch(`${base}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: base },
    body: JSON.stringify({ email, password: PASSWORD, name }),
  })
  const { user } = await json<{ user: { id: string } }>(res, 200)
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
  return { id: user.id, cookie }
}

/** Authorize (signed in, with PKCE and `resource`), consent, and exchange the code for an access token. */
async function authorize(base: string, clientId: string, cookie: string, scope: string, resource: string) {
  const verifier = randomBytes(32).toString('base64url')
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    resource,
  })
  // Better Auth answers a fetch (not a browser navigation) with the redirect as JSON.
  const login = await json<{ url: string }>(
    await fetch(`${base}/api/auth/oauth2/authorize?${query}`, { headers: { Cookie: cookie } }),
    200,
  )
  // The consent page the first time; straight back to the client once the user has consented to these scopes.
  let redirect = new URL(login.url, base)
  if (redirect.pathname === '/consent') {
    const consented = await json<{ url: string }>(
      await fetch(`${base}/api/auth/oauth2/consent`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: cookie, Origin: base },
        body: JSON.stringify({ accept: true, oauth_query: redirect.search.slice(1) }),
      }),
      200,
    )
    redirect = new URL(consented.url)
  }
  const code = redirect.searchParams.get('code')
  if (!code) throw new Error(`no code in ${redirect}`)
  const tokens = await json<{ access_token: string }>(
    await fetch(`${base}/api/auth/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        client_id: clientId,
        code_verifier: verifier,
        resource,
      }),
    }),
    200,
  )
  return tokens.access_token
}

async function grantsFor(base: string, clientId: string, name: string, resources: OAuthGrants['resources']) {
  const { id, cookie } = await signUp(base, name)
  const session = await json<{ token: string }>(
    await fetch(`${base}/api/auth/token`, { headers: { Cookie: cookie } }),
    200,
  )
  const user: OAuthUser = {
    id,
    sessionJwt: session.token,
    mcp: await authorize(base, clientId, cookie, 'tasks:read tasks:write', resources.mcp),
    mcpReadOnly: await authorize(base, clientId, cookie, 'tasks:read', resources.mcp),
    mcpWriteOnly: await authorize(base, clientId, cookie, 'tasks:write', resources.mcp),
    api: await authorize(base, clientId, cookie, 'tasks:read tasks:write', resources.api),
    apiReadOnly: await authorize(base, clientId, cookie, 'tasks:read', resources.api),
    otherResource: await authorize(base, clientId, cookie, 'tasks:read tasks:write', resources.other),
  }
  return user
}

/** Registers one client and runs the flow for two users, for each resource and scope the tests need. */
export async function runOAuthFlows(base: string, resources: OAuthGrants['resources']): Promise<OAuthGrants> {
  const clientId = await registerClient(base)
  return {
    url: base,
    clientId,
    resources,
    alice: await grantsFor(base, clientId, 'alice', resources),
    bob: await grantsFor(base, clientId, 'bob', resources),
  }
}
