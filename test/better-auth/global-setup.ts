/**
 * Vitest global set-up (runs in Node, not workerd): starts real Better Auth servers, from the
 * `better-auth` package with its `jwt` plugin and an in-memory store, on loopback ports. Tests
 * sign users up over HTTP and the worker under test fetches the real JWKS from them.
 *
 * Besides Better Auth's own routes, each server answers a few /__test routes: counts of JWKS
 * fetches, a switchable JWKS outage, a route that never answers, the last verification email's
 * token, Better Auth's server-only signJWT, and expiring the signing keys (rotation).
 *
 * The `oauth` instance adds `@better-auth/oauth-provider`; the authorization-code flow runs against
 * it here, once, and the access tokens it yields are provided to the tests as `oauth`.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { oauthProvider } from '@better-auth/oauth-provider'
import { type BetterAuthOptions, betterAuth } from 'better-auth'
import { memoryAdapter } from 'better-auth/adapters/memory'
import { toNodeHandler } from 'better-auth/node'
import { jwt } from 'better-auth/plugins'
import { sign } from 'hono/jwt'
import type { TestProject } from 'vitest/node'
import { type BetterAuthInstances, OAUTH_RESOURCES, SHARED_SECRET } from './instances'
import { runOAuthFlows } from './oauth-flow'

type JwtOptions = NonNullable<Parameters<typeof jwt>[0]>

interface Instance {
  url: string
  close(): Promise<void>
}

async function startInstance(configure: (baseURL: string, state: TestState) => BetterAuthOptions): Promise<Instance> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const state: TestState = { jwksFetches: 0, jwksOutage: false, verificationTokens: new Map() }
  const db: Record<string, Record<string, unknown>[]> = {
    user: [],
    session: [],
    account: [],
    verification: [],
    jwks: [],
    // @better-auth/oauth-provider's models (unused by the other instances).
    oauthClient: [],
    oauthResource: [],
    oauthClientResource: [],
    oauthAccessToken: [],
    oauthRefreshToken: [],
    oauthConsent: [],
    oauthClientAssertion: [],
  }
  const auth = betterAuth({
    baseURL,
    secret: randomBytes(32).toString('hex'),
    database: memoryAdapter(db),
    emailAndPassword: { enabled: true },
    trustedOrigins: [baseURL],
    telemetry: { enabled: false },
    logger: { level: 'error' },
    ...configure(baseURL, state),
  })
  const handle = toNodeHandler(auth)
  const api = auth.api as unknown as { signJWT(input: { body: unknown }): Promise<{ token: string }> }
  server.on('request', (req, res) => {
    void testRoute(req, res, { state, db, signJwt: (body) => api.signJWT({ body }) }).then((handled) => {
      if (!handled) void handle(req, res)
    })
  })
  return {
    url: baseURL,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

interface TestState {
  jwksFetches: number
  jwksOutage: boolean
  verificationTokens: Map<string, string>
}

async function testRoute(
  req: IncomingMessage,
  res: ServerResponse,
  {
    state,
    db,
    signJwt,
  }: {
    state: TestState
    db: Record<string, Record<string, unknown>[]>
    /** Better Auth's own server-only signJWT endpoint. */
    signJwt: (body: unknown) => Promise<{ token: string }>
  },
): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
    return true
  }
  if (url.pathname === '/api/auth/jwks') {
    state.jwksFetches++
    return state.jwksOutage ? json(503, { error: 'outage' }) : false
  }
  if (!url.pathname.startsWith('/__test/')) return false
  switch (`${req.method} ${url.pathname}`) {
    case 'GET /__test/stats':
      return json(200, { jwksFetches: state.jwksFetches })
    case 'POST /__test/jwks-outage':
      state.jwksOutage = url.searchParams.get('on') === '1'
      return json(200, { jwksOutage: state.jwksOutage })
    case 'GET /__test/hang':
      // Answers long after the worker's fetch timeout, so no connection is left open at teardown.
      setTimeout(() => json(504, { error: 'too late' }), 12_000)
      return true
    case 'GET /__test/verification-token':
      return json(200, { token: state.verificationTokens.get(url.searchParams.get('email') ?? '') ?? null })
    case 'POST /__test/expire-signing-keys':
      // What rotationInterval does when it elapses: the next token is signed with a new key,
      // while the old one stays published for the grace period.
      for (const key of db.jwks ?? []) key.expiresAt = new Date(Date.now() - 1000)
      return json(200, { keys: db.jwks?.length ?? 0 })
    case 'POST /__test/sign-jwt': {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      return json(200, await signJwt(JSON.parse(Buffer.concat(chunks).toString('utf8'))))
    }
    default:
      return json(404, { error: 'no such test route' })
  }
}

const withJwt = (options: JwtOptions = {}) => ({ plugins: [jwt(options)] })

export default async function setup(project: TestProject) {
  const eddsa = await startInstance(() => withJwt())
  const started: Record<keyof BetterAuthInstances, Instance> = {
    eddsa,
    es256: await startInstance(() => withJwt({ jwks: { keyPairConfig: { alg: 'ES256' } } })),
    es512: await startInstance(() => withJwt({ jwks: { keyPairConfig: { alg: 'ES512' } } })),
    rs256: await startInstance(() => withJwt({ jwks: { keyPairConfig: { alg: 'RS256', modulusLength: 2048 } } })),
    ps256: await startInstance(() => withJwt({ jwks: { keyPairConfig: { alg: 'PS256', modulusLength: 2048 } } })),
    impostor: await startInstance(() => withJwt({ jwt: { issuer: eddsa.url, audience: eddsa.url } })),
    rotating: await startInstance(() => withJwt()),
    shared: await startInstance((baseURL, state) => ({
      ...withJwt({
        // The shared-secret recipe of docs/better-auth.md: Better Auth fills in iss, aud, iat and exp.
        jwt: { sign: (payload) => sign(payload, SHARED_SECRET, 'HS256') },
        // Required by Better Auth beside a custom sign (for OpenID metadata only); no keys exist here.
        jwks: { remoteUrl: `${baseURL}/api/auth/jwks`, keyPairConfig: { alg: 'EdDSA' } },
      }),
      secret: SHARED_SECRET,
      emailVerification: {
        sendOnSignUp: true,
        sendVerificationEmail: async ({ user, token }) => {
          state.verificationTokens.set(user.email, token)
        },
      },
      session: { cookieCache: { enabled: true, strategy: 'jwt' } },
    })),
    oauth: await startInstance(() => ({
      plugins: [
        jwt(),
        oauthProvider({
          // Pages of the app that hosts Better Auth; the flow reads the redirect, no page is rendered.
          loginPage: '/sign-in',
          consentPage: '/consent',
          scopes: ['openid', 'offline_access', 'tasks:read', 'tasks:write'],
          resources: Object.values(OAUTH_RESOURCES),
          // How MCP clients register: RFC 7591, without a session.
          allowDynamicClientRegistration: true,
          allowUnauthenticatedClientRegistration: true,
          clientRegistrationDefaultResources: Object.values(OAUTH_RESOURCES),
        }),
      ],
    })),
  }
  project.provide(
    'betterAuth',
    Object.fromEntries(
      Object.entries(started).map(([name, instance]) => [name, instance.url]),
    ) as unknown as BetterAuthInstances,
  )
  const close = async () => {
    await Promise.all(Object.values(started).map((instance) => instance.close()))
  }
  try {
    project.provide('oauth', await runOAuthFlows(started.oauth.url, OAUTH_RESOURCES))
  } catch (error) {
    await close()
    throw error
  }
  return close
}
