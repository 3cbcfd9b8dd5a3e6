/**
 * The token table (token-table.ts) in shared-secret mode, where whoever holds the secret mints any
 * token, so what a token is must come from its claims: the rule of test/auth/access-tokens.test.ts
 * on every route family, for every typ, audience and scope.
 */
import { describe, it } from 'vitest'
import { signJwt } from '../helpers'
import { MCP_URL } from '../mcp/client'
import { type Mode, named, runCase } from './token-table'

const API = 'https://tasks.test/'
const APP = 'https://app.example.com'

const sign: Mode['sign'] = (claims, typ) => {
  const now = Math.floor(Date.now() / 1000)
  return signJwt({ iat: now, exp: now + 900, ...claims }, { header: { alg: 'HS256', ...(typ && { typ }) } })
}

const audiences = { none: undefined, app: APP, mcp: MCP_URL, api: API }

describe('shared-secret mode, API_RESOURCE_URL set', () => {
  const mode: Mode = { jwks: false, env: { API_RESOURCE_URL: API }, audiences, sign }
  it.each(named(['none', 'mcp', 'api']))('%s', (_, token) => runCase(token, mode), 30_000)
})

describe('shared-secret mode, JWT_AUDIENCE and API_RESOURCE_URL set', () => {
  // The session tokens' own audience is checked, and a scope or at+jwt still makes an access token.
  const mode: Mode = { jwks: false, env: { API_RESOURCE_URL: API, JWT_AUDIENCE: APP }, audiences, sign }
  it.each(named(['app']))('%s', (_, token) => runCase(token, mode), 30_000)
})

describe('shared-secret mode, API_RESOURCE_URL unset: the REST API takes no access token', () => {
  const mode: Mode = { jwks: false, env: {}, audiences, sign }
  // The api audience names no configured resource here, so without a scope or at+jwt it is a
  // session token's audience like any other; with one, an access token no door takes.
  it.each(named(['none', 'mcp']))('%s', (_, token) => runCase(token, mode), 30_000)
})
