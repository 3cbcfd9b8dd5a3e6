/** SHA-256 in hex, and the one pseudonym for a user that logs and sync tokens both carry. */

const encoder = new TextEncoder()

/** SHA-256 of `text` (UTF-8), as lowercase hex; the first `bytes` bytes of it when given. */
export async function sha256Hex(text: string, bytes?: number): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
  return Array.from(digest.subarray(0, bytes), (b) => b.toString(16).padStart(2, '0')).join('')
}

// SHA-256 costs tens of µs of CPU per request: remember recent users.
const pseudonyms = new Map<string, string>()
const MAX_REMEMBERED = 1000

/** A stable stand-in for a user id: the first 64 bits of its SHA-256. */
export async function userPseudonym(sub: string): Promise<string> {
  let pseudonym = pseudonyms.get(sub)
  if (pseudonym === undefined) {
    pseudonym = await sha256Hex(sub, 8)
    if (pseudonyms.size >= MAX_REMEMBERED) pseudonyms.clear()
    pseudonyms.set(sub, pseudonym)
  }
  return pseudonym
}
