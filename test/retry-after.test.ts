/** Reading another server's Retry-After (src/retry-after.ts), as the chat model's and the webhook endpoint's. */
import { describe, expect, it } from 'vitest'
import { retryAfterSeconds } from '../src/retry-after'

describe('retryAfterSeconds', () => {
  const now = Date.parse('2026-05-01T00:00:00Z')
  const hour = { min: 1, max: 3600 }

  it('reads seconds and HTTP dates, within the bounds it is given, and nothing else', () => {
    expect(retryAfterSeconds('17', hour, now)).toBe(17)
    expect(retryAfterSeconds(' 17 ', hour, now)).toBe(17)
    expect(retryAfterSeconds('0', hour, now)).toBe(1)
    expect(retryAfterSeconds('999999', hour, now)).toBe(3600)
    expect(retryAfterSeconds('99999999999999999999', hour, now)).toBe(3600)
    expect(retryAfterSeconds('Fri, 01 May 2026 00:00:30 GMT', hour, now)).toBe(30)
    expect(retryAfterSeconds('Friday, 01-May-26 00:00:30 GMT', hour, now)).toBe(30)
    expect(retryAfterSeconds('Thu, 30 Apr 2026 00:00:00 GMT', hour, now)).toBe(1)
    expect(retryAfterSeconds('Fri, 01 May 2026 00:00:30 GMT', { min: 5, max: 10 }, now)).toBe(10)
    expect(retryAfterSeconds('0', { min: 5, max: 10 }, now)).toBe(5)
    for (const unreadable of ['soon', '-5', '1.5', '', 'Fri, 99 Nop 2026 GMT'])
      expect(retryAfterSeconds(unreadable, hour, now), unreadable).toBeUndefined()
    expect(retryAfterSeconds(null, hour, now)).toBeUndefined()
  })
})
