/**
 * Tokens verified in this isolate, per configuration: a client sends the same token with every
 * request until it expires, and checking its signature is most of a request's CPU. A hit skips
 * only the spelling, the header and the signature, which depend on nothing but the token's text
 * and the key; every claim is checked again on every request, so no token is accepted past its
 * exp, before its nbf, or at a door it was not accepted at. A new configuration is a new AuthConfig
 * and starts empty; in JWKS mode a hit also asks the key set for the token's key and counts only if
 * it is the very key that verified it, so a refreshed or withdrawn key verifies afresh.
 */
import type { AuthConfig } from '../config'
import { stillPublished, type Verified } from './verify'

const verifiedTokens = new WeakMap<AuthConfig, Map<string, Verified>>()
const MAX_VERIFIED_TOKENS = 1000

export async function recall(auth: AuthConfig, token: string): Promise<Verified | undefined> {
  const verified = verifiedTokens.get(auth)?.get(token)
  if (!verified || (await stillPublished(verified, auth))) return verified
  forget(auth, token)
  return undefined
}

/** Only a token accepted now: one refused for its claims is checked afresh each time. */
export function remember(auth: AuthConfig, token: string, verified: Verified): void {
  let tokens = verifiedTokens.get(auth)
  if (!tokens) {
    tokens = new Map()
    verifiedTokens.set(auth, tokens)
  }
  // Dropping everything at the bound is crude but keeps memory flat whatever clients send.
  if (tokens.size >= MAX_VERIFIED_TOKENS) tokens.clear()
  tokens.set(token, verified)
}

export function forget(auth: AuthConfig, token: string): void {
  verifiedTokens.get(auth)?.delete(token)
}
