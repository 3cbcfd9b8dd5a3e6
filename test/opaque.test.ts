/** src/opaque.ts: the tokens it writes are unpadded base64url of the JSON, and read back as written. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeOpaque, encodeOpaque } from '../src/opaque'

/** The encoding as it was first written: btoa() over char codes, then the base64url alphabet. */
const byHand = (value: Record<string, unknown>) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

describe('opaque tokens', () => {
  it('are exactly the unpadded base64url of the JSON, for any text, and decode to what was encoded', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ unit: 'grapheme' }),
          fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer(), fc.constant(null)),
        ),
        (value) => {
          const token = encodeOpaque(value)
          expect(token).toBe(byHand(value))
          expect(token).toMatch(/^[A-Za-z0-9_-]*$/)
          expect(decodeOpaque(token)).toEqual(value)
        },
      ),
      { numRuns: 500 },
    )
  })

  it('needs every padding length: one, two or no bytes left over', () => {
    for (const v of ['a', 'ab', 'abc', 'ünï', '😀']) expect(encodeOpaque({ v })).toBe(byHand({ v }))
  })
})
