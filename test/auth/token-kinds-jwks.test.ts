/**
 * The token table (token-table.ts) in JWKS mode, with tokens signed by a key the test publishes:
 * whatever Better Auth's keys sign (its JWT plugin's signJWT takes any payload) is classified by the
 * same rule, and an access token must in addition be typed at+jwt and come from the OAuth issuer.
 */
import { afterEach, beforeAll, beforeEach, describe, it, vi } from 'vitest'
import { base64url } from '../helpers'
import { MCP_URL } from '../mcp/client'
import { type Mode, named, runCase } from './token-table'

const ISSUER = 'https://auth.example.com'
const OAUTH_ISSUER = `${ISSUER}/api/auth`
const API = 'https://tasks.test/'
const JWKS_URL = `${ISSUER}/api/auth/jwks/${crypto.randomUUID()}`

let privateKey: CryptoKey
let published: JsonWebKey

beforeAll(async () => {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair
  privateKey = pair.privateKey
  const jwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey
  published = { ...jwk, kid: 'k1', alg: 'EdDSA' } as JsonWebKey
})

beforeEach(() => {
  const realFetch = globalThis.fetch
  vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) =>
    String(input instanceof Request ? input.url : input) === JWKS_URL
      ? Promise.resolve(Response.json({ keys: [published] }))
      : realFetch(input, init),
  )
})

afterEach(() => {
  vi.restoreAllMocks()
})

/** Session tokens carry Better Auth's base URL as iss; access tokens its OAuth provider's. */
const sign: Mode['sign'] = async (claims, typ) => {
  const now = Math.floor(Date.now() / 1000)
  const forResource = claims.aud === MCP_URL || claims.aud === API
  const payload = { iss: forResource ? OAUTH_ISSUER : ISSUER, iat: now, exp: now + 900, ...claims }
  const header = { alg: 'EdDSA', kid: 'k1', ...(typ && { typ }) }
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`
  return `${input}.${base64url(await crypto.subtle.sign('Ed25519', privateKey, new TextEncoder().encode(input)))}`
}

describe('JWKS mode, API_RESOURCE_URL set', () => {
  const mode: Mode = {
    jwks: true,
    env: { BETTER_AUTH_SECRET: '', BETTER_AUTH_URL: ISSUER, JWKS_URL, API_RESOURCE_URL: API },
    audiences: { none: undefined, app: ISSUER, mcp: MCP_URL, api: API },
    sign,
  }
  it.each(named(['app', 'mcp', 'api']))('%s', (_, token) => runCase(token, mode), 30_000)
})
