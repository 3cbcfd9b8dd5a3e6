/** What the global set-up hands the tests: base URLs of real Better Auth servers on loopback. */
export interface BetterAuthInstances {
  /** Better Auth's defaults: EdDSA (Ed25519) keys at /api/auth/jwks. */
  eddsa: string
  es256: string
  es512: string
  rs256: string
  ps256: string
  /** Another instance (other keys) that claims eddsa's iss and aud. */
  impostor: string
  /** Its signing key can be expired on demand (POST /__test/expire-signing-keys), as rotation does. */
  rotating: string
  /** Shared-secret mode: jwt.sign signs HS256 with SHARED_SECRET; email verification and a JWT cookie cache on. */
  shared: string
  /** `@better-auth/oauth-provider` beside `jwt`: issues RFC 9068 access tokens for OAUTH_RESOURCES. */
  oauth: string
}

/** The resources the `oauth` instance issues access tokens for, as the worker under test is configured. */
export const OAUTH_RESOURCES = {
  mcp: 'https://tasks.test/mcp',
  api: 'https://tasks.test',
  other: 'https://other.test/mcp',
} as const

/** Tokens one Better Auth user got through the authorization-code flow (test/better-auth/oauth-flow.ts). */
export interface OAuthUser {
  /** Better Auth's user id: every token's `sub`. */
  id: string
  /** The session JWT from /api/auth/token, the kind the REST API has always taken. */
  sessionJwt: string
  /** Access tokens: for the MCP resource (read and write, read only, write only), the REST API, another resource. */
  mcp: string
  mcpReadOnly: string
  mcpWriteOnly: string
  api: string
  apiReadOnly: string
  otherResource: string
}

export interface OAuthGrants {
  /** The `oauth` instance's base URL. */
  url: string
  clientId: string
  resources: typeof OAUTH_RESOURCES
  alice: OAuthUser
  bob: OAuthUser
}

/** The secret the `shared` instance signs with; the worker under test is given the same one. */
export const SHARED_SECRET = 'shared-secret-for-better-auth-interop-tests-0123456789'

declare module 'vitest' {
  export interface ProvidedContext {
    betterAuth: BetterAuthInstances
    oauth: OAuthGrants
  }
}
