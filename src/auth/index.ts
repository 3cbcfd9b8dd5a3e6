/**
 * Authentication: the only place a token is read (bearer.ts), spelled and decoded (encoding.ts),
 * verified (verify.ts, with the keys of keys.ts), classified as a session or an access token
 * (classify.ts, claims.ts) and made the request's user (middleware.ts).
 */
export { verifiedSubOf } from './challenge'
export {
  expiresTooSoon,
  type Issued,
  requireCaller,
  requireIssued,
  requireMcpAccess,
  unknownCredential,
} from './middleware'
export { requireMethodScope, requireScopes, requireSessionToken, SCOPES } from './scopes'
