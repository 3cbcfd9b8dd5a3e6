/** Reading the `Authorization` header (src/auth/bearer.ts): one bearer token, from there and nowhere else, and a challenge that echoes nothing. */
import { describe, expect, it } from 'vitest'
import { newUserId, nowSeconds, request, tokenFor } from '../helpers'
import { expectUnauthorized } from './unauthorized'

describe('the Authorization header', () => {
  it('accepts the scheme in any case', async () => {
    const token = await tokenFor(newUserId())
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await request('/me', { headers: { Authorization: `${scheme} ${token}` } })
      expect(res.status, scheme).toBe(200)
    }
  })

  it('refuses other schemes', async () => {
    const token = await tokenFor(newUserId())
    for (const value of [`Basic ${btoa('a:b')}`, `Token ${token}`, `JWT ${token}`, token]) {
      await expectUnauthorized(await request('/me', { headers: { Authorization: value } }), 'invalid_request')
    }
  })

  it('refuses two tokens in one header', async () => {
    const token = await tokenFor(newUserId())
    const res = await request('/me', { headers: { Authorization: `Bearer ${token} ${token}` } })
    await expectUnauthorized(res, 'invalid_request')
  })

  it('refuses an empty bearer token', async () => {
    await expectUnauthorized(await request('/me', { headers: { Authorization: 'Bearer ' } }), 'invalid_request')
  })

  it('ignores a token in the query string', async () => {
    const token = await tokenFor(newUserId())
    for (const name of ['access_token', 'token', 'jwt']) {
      await expectUnauthorized(await request(`/me?${name}=${token}`))
      await expectUnauthorized(await request(`/tasks?${name}=${token}`))
    }
  })

  it('ignores a token in a cookie', async () => {
    const token = await tokenFor(newUserId())
    const cookie = ['token', 'jwt', 'better-auth.session_token', 'better-auth.session_data'].map((n) => `${n}=${token}`)
    await expectUnauthorized(await request('/me', { headers: { Cookie: cookie.join('; ') } }))
  })

  it('refuses an oversized header before verifying anything', async () => {
    const res = await request('/me', { headers: { Authorization: `Bearer ${'a'.repeat(9000)}` } })
    await expectUnauthorized(res, 'invalid_request')
  })

  it('never echoes the URL or the token in the challenge', async () => {
    const token = await tokenFor(newUserId(), { exp: nowSeconds() - 3600 })
    const { problem, challenge } = await expectUnauthorized(
      await request('/tasks?marker=url-marker', { token }),
      'invalid_token',
    )
    for (const text of [challenge, JSON.stringify(problem)]) {
      expect(text).not.toContain('url-marker')
      expect(text).not.toContain('tasks.test')
      expect(text).not.toContain(token.split('.')[2])
    }
  })
})
