/**
 * What a refused token gets: a 401 with its `WWW-Authenticate` challenge (RFC 6750), or a 403 naming
 * the scope it lacks. Challenges are built from constants only: never the URL or the token.
 */
import { Problem, unauthorized as unauthorizedProblem } from '../problem'

export const REALM = 'tasks'

type ErrorCode = 'invalid_request' | 'invalid_token'

/** 401; `error` is omitted when no token was presented at all (RFC 6750 §3.1). */
export function unauthorized(detail: string, error?: ErrorCode): Problem {
  // Details are fixed strings of ours; keep them safe inside the quoted-string.
  detail = detail.replace(/["\\]/g, "'")
  const challenge = error
    ? `Bearer realm="${REALM}", error="${error}", error_description="${detail}"`
    : `Bearer realm="${REALM}"`
  return unauthorizedProblem(detail, challenge)
}

export const invalidToken = (detail = 'The bearer token is invalid.') => unauthorized(detail, 'invalid_token')

/** The 401 for a token that is genuine but expired or not valid yet: its `sub` has been verified. */
export class OutsideValidity extends Problem {
  constructor(
    detail: string,
    readonly sub: string,
    headers = invalidToken(detail).headers,
  ) {
    super('unauthorized', detail, undefined, headers)
  }
}

/**
 * The verified `sub` of a token refused only because it is expired or not valid yet, so that the
 * caller can count the refusal against that user rather than the client's address; undefined for
 * every other error, since no other refused token proves who sent it.
 *
 * @example
 * const sub = verifiedSubOf(error)
 * const key = sub === undefined ? `ip:${address}` : `user:${sub}`
 */
export const verifiedSubOf = (error: unknown): string | undefined =>
  error instanceof OutsideValidity ? error.sub : undefined

/** 403 for a valid token that lacks `scope` (RFC 6750 §3.1; a space-separated list), naming what to ask for. */
export const insufficientScope = (scope: string) =>
  new Problem(
    'forbidden',
    `This token was not granted the ${scope} scope${scope.includes(' ') ? 's' : ''}.`,
    undefined,
    { 'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"` },
  )

/** The same 401, pointing at the resource's metadata (RFC 9728 §5.1) so a client finds where to get a token. */
export function pointToMetadata(problem: Problem, metadataUrl: string): Problem {
  const challenge = (problem.headers['WWW-Authenticate'] ?? '').replace(
    `realm="${REALM}"`,
    `realm="${REALM}", resource_metadata="${metadataUrl}"`,
  )
  const headers = { ...problem.headers, 'WWW-Authenticate': challenge }
  // An expired genuine token keeps its verified sub, so the rate limiter still counts it against the user.
  if (problem instanceof OutsideValidity) return new OutsideValidity(problem.detail, problem.sub, headers)
  return new Problem(problem.slug, problem.detail, problem.errors, headers)
}
