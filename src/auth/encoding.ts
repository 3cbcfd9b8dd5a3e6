/**
 * One token, one spelling, one key: before any signature is computed, a token must be three
 * canonical base64url segments with a UTF-8 header and payload, and its header must name no key
 * source of its own. Only the header is decoded here, to choose the key; the payload is parsed
 * once, by the verifier.
 */
import { decodeBase64Url } from 'hono/utils/encode'
import { decodeHeader } from 'hono/utils/jwt/jwt'
import { invalidToken } from './challenge'

/** A token's protected (JOSE) header. */
export type ProtectedHeader = Record<string, unknown>

/**
 * Unpadded base64url whose last partial group leaves its unused bits zero: the one spelling of
 * each byte string. Hand-written because hono's decoder (atob) also accepts padding, `+`, `/`,
 * whitespace and set unused bits, and no platform API checks the canonical form.
 */
const CANONICAL_BASE64URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$/

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** UTF-8 (RFC 7515 requires it of the header and payload); hono's decoder would substitute U+FFFD. */
function isUtf8(segment: string): boolean {
  try {
    strictUtf8.decode(decodeBase64Url(segment))
    return true
  } catch {
    return false
  }
}

function assertCanonical(token: string): void {
  const segments = token.split('.')
  if (segments.length !== 3 || !segments.every((segment) => CANONICAL_BASE64URL.test(segment))) {
    throw invalidToken('The bearer token is not three canonical base64url segments.')
  }
  if (!isUtf8(segments[0]!) || !isUtf8(segments[1]!)) throw invalidToken('The token header and payload must be UTF-8.')
}

// Headers that point at keys chosen by whoever made the token. We never use them; a token
// carrying one is not from Better Auth and is refused outright.
const KEY_SOURCE_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const

/** The protected header of a canonical token that names no key source, for every kind of token. */
export function protectedHeader(token: string): ProtectedHeader {
  assertCanonical(token)
  let header: unknown
  try {
    header = decodeHeader(token)
  } catch {
    throw invalidToken()
  }
  // Valid JSON is not necessarily an object: `null` or `42` must be a 401, not a TypeError.
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw invalidToken()
  if (KEY_SOURCE_HEADERS.some((name) => name in header)) throw invalidToken()
  return header as ProtectedHeader
}
