/**
 * The opaque tokens the API hands out (list cursors, sync tokens): a JSON object in base64url
 * (RFC 4648 §5) without padding. Opaque means clients must not build them, not that they are secret.
 */

export const encodeOpaque = (value: Record<string, unknown>): string =>
  btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

/** The object a token holds, or undefined for anything that is not one of ours in form. */
export function decodeOpaque(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(atob(raw.replace(/-/g, '+').replace(/_/g, '/')))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
