/** The one place the `Authorization` header is read, once per request. */
import type { Context } from 'hono'
import { unauthorized } from './challenge'

/** Far above any real token; refuses header-stuffing before any work is done. */
const MAX_AUTHORIZATION_LENGTH = 8 * 1024

/**
 * The token of `Authorization: Bearer <token>`: scheme case-insensitive, exactly one token. A token
 * anywhere else (the query, a cookie) is never looked at.
 */
export function bearerToken(c: Context): string {
  const header = c.req.header('Authorization')
  if (!header) throw unauthorized('A bearer token is required.')
  if (header.length > MAX_AUTHORIZATION_LENGTH)
    throw unauthorized('The Authorization header is too long.', 'invalid_request')
  const parts = header.split(/\s+/)
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer') {
    throw unauthorized('The Authorization header must be "Bearer <token>".', 'invalid_request')
  }
  return parts[1]!
}
