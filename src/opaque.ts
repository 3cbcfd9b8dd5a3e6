/**
 * The opaque tokens the API hands out (list cursors, sync tokens): a JSON object, as UTF-8, in
 * base64url (RFC 4648 §5) without padding. UTF-8 because a cursor can carry a title, and btoa()
 * takes Latin-1 only. Opaque means clients must not build them, not that they are secret.
 */

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export const encodeOpaque = (value: Record<string, unknown>): string =>
  btoa(String.fromCharCode(...encoder.encode(JSON.stringify(value))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

/** The object a token holds, or undefined for anything that is not one of ours in form. */
export function decodeOpaque(raw: string): Record<string, unknown> | undefined {
  try {
    const binary = atob(raw.replace(/-/g, '+').replace(/_/g, '/'))
    const value: unknown = JSON.parse(decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}
