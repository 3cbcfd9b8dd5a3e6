/**
 * The API's one error shape: RFC 9457 problem details (application/problem+json).
 * Code throws a Problem; `onError` renders it (and maps everything else) in one place.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { DatabaseError } from './db'
import type { AppEnv } from './env'

/** One invalid input: `pointer` (JSON Pointer into the body) or `parameter` (query), per RFC 9457. */
export type InvalidParam = { pointer: string; detail: string } | { parameter: string; detail: string }

export const RETRY_AFTER_SECONDS = 5

export class Problem extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    /** Stable identifier; the `type` member is `/problems/<slug>`. */
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    readonly errors?: InvalidParam[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail)
  }
}

export const invalidRequest = (detail: string, errors?: InvalidParam[]) =>
  new Problem(400, 'invalid-request', 'Invalid request', detail, errors)
export const forbidden = (detail: string) => new Problem(403, 'forbidden', 'Forbidden', detail)
export const notFound = (detail: string) => new Problem(404, 'not-found', 'Not found', detail)
export const methodNotAllowed = (allow: readonly string[]) =>
  new Problem(405, 'method-not-allowed', 'Method not allowed', `Allowed methods: ${allow.join(', ')}.`, undefined, {
    Allow: allow.join(', '),
  })
export const preconditionFailed = () =>
  new Problem(
    412,
    'precondition-failed',
    'Precondition failed',
    'The task has changed since the version your If-Match or If-None-Match names. Fetch it again, then reapply your change.',
  )
export const syncTokenExpired = () =>
  new Problem(
    410,
    'sync-token-expired',
    'Sync token expired',
    'Deletions since this token are no longer recorded. Resync: fetch /tasks/changes without since and replace your local copy.',
  )
export const payloadTooLarge = (limit: number) =>
  new Problem(413, 'payload-too-large', 'Payload too large', `The request body must not exceed ${limit} bytes.`)
export const unsupportedMediaType = () =>
  new Problem(415, 'unsupported-media-type', 'Unsupported media type', 'The request body must be application/json.')
export const tooManyRequests = (retryAfterSeconds: number) =>
  new Problem(
    429,
    'rate-limited',
    'Too many requests',
    `Too many requests; try again in ${retryAfterSeconds} seconds.`,
    undefined,
    {
      'Retry-After': String(retryAfterSeconds),
    },
  )
export const serverMisconfigured = (detail = 'The server is not configured to verify tokens.') =>
  new Problem(500, 'server-misconfigured', 'Server misconfigured', detail)
export const quotaExceeded = (quota: number) =>
  new Problem(
    409,
    'quota-exceeded',
    'Task quota exceeded',
    `A user may store at most ${quota} tasks; delete some first.`,
  )
export const idempotencyKeyReused = () =>
  new Problem(
    422,
    'idempotency-key-reused',
    'Idempotency key reused',
    'This Idempotency-Key was sent with a different request body in the last 24 hours; use a new key for a new request.',
  )
/** The /api routes' invalid input, as FastAPI answered it: 422, with `detail` one readable sentence. */
export const unprocessable = (detail: string, errors: InvalidParam[]) =>
  new Problem(422, 'unprocessable-content', 'Unprocessable content', detail, errors)
export const serviceUnavailable = (detail = 'The database is unavailable; try again shortly.') =>
  new Problem(503, 'service-unavailable', 'Service unavailable', detail, undefined, {
    'Retry-After': String(RETRY_AFTER_SECONDS),
  })

export function renderProblem(c: Context<AppEnv>, problem: Problem): Response {
  const body = {
    type: `/problems/${problem.slug}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    ...(problem.errors && { errors: problem.errors }),
    requestId: c.var.requestId,
  }
  return c.body(JSON.stringify(body), problem.status, {
    ...problem.headers,
    'Content-Type': 'application/problem+json',
  })
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof Problem) return renderProblem(c, err)
  if (err instanceof HTTPException && err.status < 500) {
    // Raised inside hono itself, e.g. "Malformed JSON in request body" from the JSON validator.
    return renderProblem(c, new Problem(err.status, 'invalid-request', 'Invalid request', err.message))
  }
  const database = err instanceof DatabaseError
  console.error(
    JSON.stringify({
      level: 'error',
      message: database ? 'database failure' : 'unhandled error',
      requestId: c.var.requestId,
      method: c.req.method,
      path: c.req.path,
      error: String(database ? err.cause : err),
    }),
  )
  if (database) return renderProblem(c, serviceUnavailable())
  return renderProblem(c, new Problem(500, 'internal-error', 'Internal server error', 'An unexpected error occurred.'))
}

export const onNotFound: NotFoundHandler<AppEnv> = (c) => renderProblem(c, notFound('There is no such resource.'))
