/** A token's encoding (src/auth/encoding.ts): one canonical spelling, checked before any signature is computed. */
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { base64url, newUserId, nowSeconds, tokenFor } from '../helpers'
import { expectUnauthorized, me } from './unauthorized'

describe('token encoding', () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

  /** Signs an arbitrary signing input with the test secret, as an issuer that encodes sloppily would. */
  async function signInput(input: string): Promise<string> {
    const key = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(env.BETTER_AUTH_SECRET),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    )
    return base64url(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input)))
  }

  /** The same bytes with the unused low bits of the last character set: decodes identically. */
  const withUnusedBits = (segment: string) => {
    const last = ALPHABET.indexOf(segment.at(-1)!)
    const unusedBits = { 2: 4, 3: 2 }[(segment.length % 4) as 2 | 3]
    return `${segment.slice(0, -1)}${ALPHABET[last | ((1 << unusedBits) - 1)]}`
  }

  it('accepts the canonical form it refuses every variant of', async () => {
    expect((await me(await tokenFor(newUserId()))).status).toBe(200)
  })

  it('refuses a signature with padding, changed unused bits, or characters outside base64url', async () => {
    const token = await tokenFor(newUserId())
    const [header, payload, signature] = token.split('.') as [string, string, string]
    // An HS256 signature is 32 bytes: 43 characters, whose last carries 2 unused bits.
    expect(signature.length % 4).toBe(3)
    for (const forged of [
      `${signature}=`,
      withUnusedBits(signature),
      `${signature.slice(0, -1)}+`,
      `${signature.slice(0, -2)}/${signature.at(-1)}`,
    ]) {
      await expectUnauthorized(await me(`${header}.${payload}.${forged}`), 'invalid_token')
    }
  })

  it('refuses a header or payload that is not canonical base64url, though it is signed as sent', async () => {
    // Chosen so that both segments end in a partial group and the payload holds a '_'.
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'k' }))
    const payload = base64url(JSON.stringify({ sub: 'encoding-user', exp: 1e10, n: 'a??>' }))
    expect([header.length % 4, payload.length % 4, payload.includes('_')]).toEqual([2, 2, true])
    const canonical = `${header}.${payload}`
    expect((await me(`${canonical}.${await signInput(canonical)}`)).status).toBe(200)
    const variants = [
      `${header}=.${payload}`,
      `${header}.${payload}==`,
      `${withUnusedBits(header)}.${payload}`,
      `${header}.${withUnusedBits(payload)}`,
      `${header}.${payload.replace(/_/g, '/')}`,
    ]
    for (const input of variants) {
      await expectUnauthorized(await me(`${input}.${await signInput(input)}`), 'invalid_token')
    }
  })

  it('refuses a header or payload that is not UTF-8, though it is signed as sent', async () => {
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
    const claims = (sub: string) => new TextEncoder().encode(JSON.stringify({ sub, exp: nowSeconds() + 900 }))
    const utf8 = base64url(claims('user-caf\u00e9'))
    expect((await me(`${header}.${utf8}.${await signInput(`${header}.${utf8}`)}`)).status).toBe(200)
    // "café" in ISO-8859-1, a lone continuation byte, and a UTF-8-encoded surrogate: each would be
    // decoded to U+FFFD and become part of the user id.
    for (const bytes of [[0x63, 0x61, 0x66, 0xe9], [0x80], [0xed, 0xa0, 0x80]]) {
      const raw = claims('user-#')
      const at = raw.indexOf(0x23)
      const payload = base64url(new Uint8Array([...raw.slice(0, at), ...bytes, ...raw.slice(at + 1)]))
      const input = `${header}.${payload}`
      await expectUnauthorized(await me(`${input}.${await signInput(input)}`), 'invalid_token')
    }
  })

  it('refuses a token of other than three segments', async () => {
    const token = await tokenFor(newUserId())
    for (const forged of [`${token}.`, `.${token}`, token.split('.').slice(0, 2).join('.')]) {
      await expectUnauthorized(await me(forged), 'invalid_token')
    }
  })

  it('checks the encoding before any signature is computed', async () => {
    const verified = vi.spyOn(crypto.subtle, 'verify')
    const token = await tokenFor(newUserId())
    await expectUnauthorized(await me(`${token}=`), 'invalid_token')
    expect(verified).not.toHaveBeenCalled()
    expect((await me(token)).status).toBe(200)
    expect(verified).toHaveBeenCalledOnce()
    verified.mockRestore()
  })
})
