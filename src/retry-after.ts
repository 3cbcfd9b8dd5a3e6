/**
 * Reading another server's Retry-After header (RFC 9110 10.2.3): the chat model's and the webhook
 * endpoint's. Each caller brings its own bounds.
 */

/**
 * Retry-After in seconds, delay-seconds or an HTTP-date in a form that ends in GMT (IMF-fixdate, or
 * the obsolete RFC 850 form), held within `min` and `max`; undefined when absent or unreadable.
 */
export function retryAfterSeconds(
  value: string | null,
  { min, max }: { min: number; max: number },
  now = Date.now(),
): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  const seconds = /^\d+$/.test(text)
    ? Number(text)
    : /GMT$/.test(text)
      ? Math.ceil((Date.parse(text) - now) / 1000)
      : Number.NaN
  if (!Number.isFinite(seconds)) return undefined
  return Math.min(Math.max(seconds, min), max)
}
