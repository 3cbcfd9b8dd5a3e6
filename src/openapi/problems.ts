/**
 * Every problem type the API answers with (`type` is `/problems/<slug>`), for the OpenAPI document
 * and /docs. test/openapi.test.ts checks that every `new Problem(…)` in src/ is listed here with the
 * same status, so a new one cannot go undocumented.
 */
export const PROBLEM_TYPES = {
  'invalid-request': {
    status: 400,
    title: 'Invalid request',
    description:
      'Malformed JSON, a body that is not an object, an invalid, unknown or server-set field, a bad query parameter or header. `errors` lists every problem, each with a JSON `pointer` into the body or the `parameter` (query parameter or header) it concerns.',
  },
  unauthorized: {
    status: 401,
    title: 'Unauthorized',
    description:
      'No bearer token, or one that is malformed, invalid, expired or not for this API. `WWW-Authenticate` says which.',
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    description: 'The task exists but belongs to another user. Nothing of it is returned.',
  },
  'not-found': {
    status: 404,
    title: 'Not found',
    description: 'No task has this id (or the id is malformed), or there is no such route.',
  },
  'method-not-allowed': {
    status: 405,
    title: 'Method not allowed',
    description: 'The route exists, but not for this method; `Allow` lists the methods it has.',
  },
  'sync-token-expired': {
    status: 410,
    title: 'Sync token expired',
    description:
      'Deletions since this sync token are no longer recorded (tombstones are kept 30 days). Resync: fetch `/tasks/changes` without `since`.',
  },
  'precondition-failed': {
    status: 412,
    title: 'Precondition failed',
    description:
      'The task is not at a version `If-Match` names (or, on a write, is at one `If-None-Match` names); nothing was written. Fetch it again and reapply your change.',
  },
  'quota-exceeded': {
    status: 409,
    title: 'Task quota exceeded',
    description: 'The user already stores as many tasks as the quota allows; nothing was written.',
  },
  'payload-too-large': { status: 413, title: 'Payload too large', description: 'The body is over 16 KiB.' },
  'unsupported-media-type': {
    status: 415,
    title: 'Unsupported media type',
    description: 'The body is not `application/json`.',
  },
  'idempotency-key-reused': {
    status: 422,
    title: 'Idempotency key reused',
    description:
      'The `Idempotency-Key` was used in the last 24 hours with a different body; nothing was written. Use a new key for a new request.',
  },
  'unprocessable-content': {
    status: 422,
    title: 'Unprocessable content',
    description:
      'On the /api routes: malformed JSON or an invalid field or query parameter, as FastAPI answered it. `detail` names every problem in one sentence; `errors` lists each with its `pointer` or `parameter`.',
  },
  'rate-limited': {
    status: 429,
    title: 'Too many requests',
    description: 'Over the per-user or per-IP rate limit; `Retry-After` says when to try again.',
  },
  'server-misconfigured': {
    status: 500,
    title: 'Server misconfigured',
    description:
      'The server has no usable token or limit configuration, so it refuses every protected request (fails closed).',
  },
  'internal-error': {
    status: 500,
    title: 'Internal server error',
    description: 'A bug; it is logged with the request id.',
  },
  'service-unavailable': {
    status: 503,
    title: 'Service unavailable',
    description:
      "The database, or the identity provider's signing keys, could not be reached. Retry after `Retry-After` seconds.",
  },
} as const satisfies Record<string, { status: number; title: string; description: string }>

export type ProblemSlug = keyof typeof PROBLEM_TYPES
