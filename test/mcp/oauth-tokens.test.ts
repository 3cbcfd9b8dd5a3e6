/**
 * What Better Auth's OAuth provider really issues (test/better-auth/oauth-flow.ts ran the flow):
 * the claims src/auth/ checks, read from the tokens rather than assumed.
 */
import { describe, expect, inject, it } from 'vitest'
import { decodeJwtPart } from '../helpers'

const oauth = inject('oauth')

describe("Better Auth's OAuth access tokens", () => {
  it('are RFC 9068 JWTs: typ at+jwt, iss <base>/api/auth, aud the resource, scope, azp, exp', () => {
    const header = decodeJwtPart(oauth.alice.mcp, 0)
    const payload = decodeJwtPart(oauth.alice.mcp, 1)
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'EdDSA', kid: expect.any(String) })
    expect(payload).toMatchObject({
      sub: oauth.alice.id,
      iss: `${oauth.url}/api/auth`,
      aud: oauth.resources.mcp,
      scope: 'tasks:read tasks:write',
      azp: oauth.clientId,
      client_id: oauth.clientId,
      exp: expect.any(Number),
      iat: expect.any(Number),
    })
    expect(payload).not.toHaveProperty('cnf')
    expect(decodeJwtPart(oauth.alice.mcpReadOnly, 1)).toMatchObject({ scope: 'tasks:read' })
    expect(decodeJwtPart(oauth.alice.api, 1)).toMatchObject({ aud: oauth.resources.api })
    expect(decodeJwtPart(oauth.alice.otherResource, 1)).toMatchObject({ aud: oauth.resources.other })
  })

  it('differ from the session JWT, which has no typ at+jwt, no scope, and iss and aud the base URL', () => {
    expect(decodeJwtPart(oauth.alice.sessionJwt, 0).typ).not.toBe('at+jwt')
    expect(decodeJwtPart(oauth.alice.sessionJwt, 1)).toMatchObject({
      sub: oauth.alice.id,
      iss: oauth.url,
      aud: oauth.url,
    })
    expect(decodeJwtPart(oauth.alice.sessionJwt, 1)).not.toHaveProperty('scope')
  })
})
