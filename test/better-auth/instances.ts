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
}

/** The secret the `shared` instance signs with; the worker under test is given the same one. */
export const SHARED_SECRET = 'shared-secret-for-better-auth-interop-tests-0123456789'

declare module 'vitest' {
  export interface ProvidedContext {
    betterAuth: BetterAuthInstances
  }
}
