/**
 * The sync feed's token (sync.ts says what its two positions mean). Not signed: every read is
 * scoped by the caller, so a forged token can only move within the caller's own changes. It names a
 * hash of its user, so that a token kept from another account is refused rather than silently
 * skipping this account's changes.
 */
import { decodeOpaque, encodeOpaque } from '../opaque'

export interface SyncToken {
  after: number
  tombstonesAfter: number
  /** Hash of the user it was issued to. */
  user: string
}

export const encodeToken = ({ after, tombstonesAfter, user }: SyncToken) =>
  encodeOpaque({ a: after, t: tombstonesAfter, u: user })

const position = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0

/** The token, or why it is refused. */
export function decodeToken(raw: string): SyncToken | string {
  const { a, t, u } = decodeOpaque(raw) ?? {}
  if (!position(a) || !position(t) || t < a || typeof u !== 'string' || !/^[0-9a-f]{16}$/.test(u)) {
    return 'is not a sync token'
  }
  return { after: a, tombstonesAfter: t, user: u }
}
