// Prints a token the local dev server accepts:
//   npm run token -- <sub> [--email e] [--name n] [--ttl 15m] [--iss url] [--aud url] [--scope "s1 s2"]
// Signed HS256 with BETTER_AUTH_SECRET from .dev.vars (or the environment), like a Better Auth
// server configured for shared-secret mode. iss/aud default to JWT_ISSUER/JWT_AUDIENCE when set.
// With --scope it is an OAuth access token (typ at+jwt) for an MCP client or an app: give --aud the
// MCP_RESOURCE_URL (docs/mcp.md), e.g. --aud http://localhost:8787/mcp --scope "tasks:read tasks:write",
// or the API_RESOURCE_URL. The worker takes it only there, for its scopes, and never as a session.
import { createHmac } from 'node:crypto'
import { parseArgs } from 'node:util'
import { ensureDevVars } from './dev-vars.mjs'

const usage =
  'usage: npm run token -- <sub> [--email e] [--name n] [--ttl 15m] [--iss url] [--aud url] [--scope "tasks:read tasks:write"]'

function fail(message) {
  console.error(`${message}\n${usage}`)
  process.exit(2)
}

function parseTtl(text) {
  const match = /^(\d+)([smhd]?)$/.exec(text)
  if (!match) fail(`--ttl must look like 90s, 15m, 12h or 7d, not "${text}"`)
  return Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2]]
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    email: { type: 'string' },
    name: { type: 'string' },
    ttl: { type: 'string', default: '15m' },
    iss: { type: 'string' },
    aud: { type: 'string' },
    scope: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) {
  console.log(usage)
  process.exit(0)
}
const [sub] = positionals
if (!sub || positionals.length > 1) fail('give exactly one subject (the user id)')
if (sub.length > 255) fail('the subject must be at most 255 characters')

const vars = { ...ensureDevVars(), ...process.env }
const secret = vars.BETTER_AUTH_SECRET
if (!secret || secret.length < 32) fail('BETTER_AUTH_SECRET (in .dev.vars) must be at least 32 characters')

const now = Math.floor(Date.now() / 1000)
const iss = values.iss ?? (vars.JWT_ISSUER || undefined)
const aud = values.aud ?? (vars.JWT_AUDIENCE || undefined)
if (values.scope !== undefined && !aud)
  fail('--scope needs --aud: the resource the token is for (MCP_RESOURCE_URL or API_RESOURCE_URL)')
const payload = {
  sub,
  ...(values.email && { email: values.email }),
  ...(values.name && { name: values.name }),
  ...(iss && { iss }),
  ...(aud && { aud }),
  // An access token names its scopes and the client it was issued to (RFC 9068).
  ...(values.scope !== undefined && { scope: values.scope, client_id: 'npm-run-token' }),
  iat: now,
  exp: now + parseTtl(values.ttl),
}
const base64url = (json) => Buffer.from(JSON.stringify(json)).toString('base64url')
// RFC 9068's type for an access token, so nothing reading it can take it for a session JWT.
const header = { alg: 'HS256', typ: values.scope === undefined ? 'JWT' : 'at+jwt' }
const input = `${base64url(header)}.${base64url(payload)}`
console.log(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`)
