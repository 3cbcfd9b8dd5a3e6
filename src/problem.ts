/**
 * The API's one error shape: RFC 9457 problem details (application/problem+json), and the one
 * catalogue of its problem types. Code throws a Problem; `onError` renders it (and maps everything
 * else) in one place.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { DatabaseError } from './db'
import type { AppEnv } from './env'
import { respond } from './respond'

/** One invalid input: `pointer` (JSON Pointer into the body) or `parameter` (query), per RFC 9457. */
export type InvalidParam = { pointer: string; detail: string } | { parameter: string; detail: string }

const RETRY_AFTER_SECONDS = 5

/**
 * Every problem type the API answers with (`type` is `/problems/<slug>`): its status, its title,
 * and the description the OpenAPI document shows. A Problem can only be made with one of these slugs.
 */
export const PROBLEM_TYPES = {
  'invalid-request': {
    status: 400,
    title: 'Invalid request',
    description:
      'Malformed JSON or bytes that are not UTF-8, a body that is not an object, an invalid, unknown or server-set field, a bad query parameter or header. `errors` lists every problem, each with a JSON `pointer` into the body or the `parameter` (query parameter or header) it concerns.',
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
    description:
      'The task exists but belongs to another user (nothing of it is returned), an OAuth access token lacks the scope the request needs (`WWW-Authenticate` names it), or a live connection comes from a page whose origin `CORS_ORIGINS` does not list.',
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
  'write-conflict': {
    status: 409,
    title: 'Write conflict',
    description:
      'Other writes kept changing the task while this one was planned; nothing was written. Retry after `Retry-After` seconds.',
  },
  'push-disabled': {
    status: 404,
    title: 'Push notifications are off',
    description:
      'The server has no VAPID key pair configured, so it sends no push messages; reminders still show in the app (`remindBefore`).',
  },
  'push-subscription-limit': {
    status: 409,
    title: 'Too many push subscriptions',
    description: 'The user already has as many push subscriptions as allowed; nothing was written. Delete one first.',
  },
  'push-endpoint-refused': {
    status: 422,
    title: 'Push endpoint refused',
    description:
      "The subscription's endpoint is not an `https://` URL of a push service this server sends to (`PUSH_SERVICE_HOSTS`); nothing was written.",
  },
  'upgrade-required': {
    status: 426,
    title: 'Upgrade required',
    description: "`/tasks/live` speaks only WebSocket: send `Upgrade: websocket` (a browser's `new WebSocket()` does).",
  },
  'live-connection-limit': {
    status: 429,
    title: 'Too many live connections',
    description:
      'The user already holds as many open live connections (WebSockets) as allowed (`LIVE_SOCKETS_PER_USER`); close one, or retry after `Retry-After` seconds.',
  },
  'payload-too-large': { status: 413, title: 'Payload too large', description: 'The body is over 16 KiB.' },
  'unsupported-media-type': {
    status: 415,
    title: 'Unsupported media type',
    description: 'The body is not `application/json`, or is declared in a charset other than UTF-8.',
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
    description:
      'Over the per-user or per-IP rate limit, or (a create with an `Idempotency-Key`) holding as many live key records as allowed; `Retry-After` says when to try again.',
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
    description: 'A bug (a statement D1 refuses included); it is logged with the request id. Retrying will not help.',
  },
  'conversation-limit': {
    status: 409,
    title: 'Too many conversations',
    description:
      'The user already holds as many conversations as allowed; nothing was written. Delete one (`DELETE /conversations/{number}`) first.',
  },
  'conversation-full': {
    status: 409,
    title: 'Conversation full',
    description:
      'The conversation holds as many messages as allowed; nothing was written. Start a new one (leave out the conversation id).',
  },
  'model-failed': {
    status: 502,
    title: 'The assistant failed',
    description:
      "The assistant's model could not be reached, refused the call or gave no usable answer. `conversation_id` / `conversationId` and the tool calls already run are in the body; they are kept with the conversation.",
  },
  'model-timeout': {
    status: 504,
    title: 'The assistant timed out',
    description:
      "The assistant's model did not answer in time (CHAT_TIMEOUT_SECONDS). The body carries the conversation and the tool calls already run, as for a 502.",
  },
  'chat-disabled': {
    status: 503,
    title: 'Chat is off',
    description:
      'The server has no model configured (CHAT_API_BASE_URL, CHAT_MODEL); nothing was stored. docs/chat.md says how to turn it on.',
  },
  'model-busy': {
    status: 503,
    title: 'The assistant is busy',
    description:
      "The assistant's model is over its quota or overloaded (it answered 429 or 503); `Retry-After` is the model's when it gave one. The body carries the conversation and the tool calls already run, as for a 502.",
  },
  'service-unavailable': {
    status: 503,
    title: 'Service unavailable',
    description:
      "The database is restarting, overloaded or out of reach, or the identity provider's signing keys could not be fetched. Retry after `Retry-After` seconds.",
  },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string; description: string }>

export type ProblemSlug = keyof typeof PROBLEM_TYPES

export class Problem extends Error {
  readonly status: ContentfulStatusCode
  readonly title: string

  constructor(
    /** The catalogue entry, which gives the status and title. */
    readonly slug: ProblemSlug,
    readonly detail: string,
    readonly errors?: InvalidParam[],
    readonly headers: Record<string, string> = {},
    /** RFC 9457 extension members, written into the body beside the standard ones. */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(detail)
    this.status = PROBLEM_TYPES[slug].status
    this.title = PROBLEM_TYPES[slug].title
  }
}

export const invalidRequest = (detail: string, errors?: InvalidParam[]) =>
  new Problem('invalid-request', detail, errors)
/** `challenge` is the WWW-Authenticate value (RFC 6750). */
export const unauthorized = (detail: string, challenge: string) =>
  new Problem('unauthorized', detail, undefined, { 'WWW-Authenticate': challenge })
export const forbidden = (detail: string) => new Problem('forbidden', detail)
export const notFound = (detail: string) => new Problem('not-found', detail)
// Not hono/method-not-allowed: it unions the methods of every pattern a path matches (POST /tasks/changes
// would get /tasks/:id's Allow) and answers /me's 405 before authentication; each route lists its own.
export const methodNotAllowed = (allow: readonly string[]) =>
  new Problem('method-not-allowed', `Allowed methods: ${allow.join(', ')}.`, undefined, { Allow: allow.join(', ') })
export const preconditionFailed = () =>
  new Problem(
    'precondition-failed',
    'The task has changed since the version your If-Match or If-None-Match names. Fetch it again, then reapply your change.',
  )
export const writeConflict = () =>
  new Problem(
    'write-conflict',
    'Other writes kept changing this task while yours was planned; nothing was written. Retry.',
    undefined,
    { 'Retry-After': '1' },
  )
export const syncTokenExpired = () =>
  new Problem(
    'sync-token-expired',
    'Deletions since this token are no longer recorded. Resync: fetch /tasks/changes without since and replace your local copy.',
  )
export const payloadTooLarge = (limit: number) =>
  new Problem('payload-too-large', `The request body must not exceed ${limit} bytes.`)
export const unsupportedMediaType = () =>
  new Problem('unsupported-media-type', 'The request body must be application/json.')
export const tooManyRequests = (retryAfterSeconds: number) =>
  new Problem('rate-limited', `Too many requests; try again in ${retryAfterSeconds} seconds.`, undefined, {
    'Retry-After': String(retryAfterSeconds),
  })
export const idempotencyKeysExhausted = (budget: number, retryAfterSeconds: number) =>
  new Problem(
    'rate-limited',
    `A user may hold at most ${budget} live Idempotency-Key records, and the oldest expires in ${retryAfterSeconds} seconds; retry then, or create without a key.`,
    undefined,
    { 'Retry-After': String(retryAfterSeconds) },
  )
export const serverMisconfigured = (detail = 'The server is not configured to verify tokens.') =>
  new Problem('server-misconfigured', detail)
export const quotaExceeded = (quota: number) =>
  new Problem('quota-exceeded', `A user may store at most ${quota} tasks; delete some first.`)
export const idempotencyKeyReused = () =>
  new Problem(
    'idempotency-key-reused',
    'This Idempotency-Key was sent with a different request body in the last 24 hours; use a new key for a new request.',
  )
/** The /api routes' invalid input, as FastAPI answered it: 422, with `detail` one readable sentence. */
export const unprocessable = (detail: string, errors: InvalidParam[]) =>
  new Problem('unprocessable-content', detail, errors)
export const pushDisabled = () =>
  new Problem(
    'push-disabled',
    'This server is not configured to send push notifications (VAPID_PRIVATE_KEY, VAPID_SUBJECT); reminders still show in the app.',
  )
export const pushSubscriptionLimit = (max: number) =>
  new Problem('push-subscription-limit', `A user may have at most ${max} push subscriptions; delete one first.`)
export const pushEndpointRefused = () =>
  new Problem(
    'push-endpoint-refused',
    'The endpoint must be an https:// URL of a push service this server sends to (PUSH_SERVICE_HOSTS).',
  )
export const upgradeRequired = () =>
  new Problem('upgrade-required', 'This is a WebSocket endpoint: connect with Upgrade: websocket.', undefined, {
    Upgrade: 'websocket',
  })
/** Sockets close as devices go away, so a retry soon may succeed. */
const LIVE_RETRY_AFTER_SECONDS = 30
export const liveConnectionLimit = (max: number) =>
  new Problem(
    'live-connection-limit',
    `A user may hold at most ${max} live connections open at once; close one first.`,
    undefined,
    { 'Retry-After': String(LIVE_RETRY_AFTER_SECONDS) },
  )
export const serviceUnavailable = (detail = 'The database is unavailable; try again shortly.') =>
  new Problem('service-unavailable', detail, undefined, { 'Retry-After': String(RETRY_AFTER_SECONDS) })

/** The problem's RFC 9457 body; also what a server-sent event stream ends with when its request fails. */
export const problemBody = (c: Context<AppEnv>, problem: Problem, status: number = problem.status) => ({
  type: `/problems/${problem.slug}`,
  title: problem.title,
  status,
  detail: problem.detail,
  ...(problem.errors && { errors: problem.errors }),
  ...problem.extensions,
  requestId: c.get('requestId'),
})

/** The problem as application/problem+json; `status` only for hono's own errors, which carry theirs. */
function renderProblem(c: Context<AppEnv>, problem: Problem, status = problem.status): Response {
  return respond(c, JSON.stringify(problemBody(c, problem, status)), status, {
    ...problem.headers,
    'Content-Type': 'application/problem+json',
  })
}

/**
 * Any error as the problem it answers with: a Problem as it is; a database failure or anything
 * else is our fault, logged with the request id, and a 503 (transient) or 500.
 */
export function problemFor(c: Context<AppEnv>, err: unknown): Problem {
  if (err instanceof Problem) return err
  const database = err instanceof DatabaseError
  console.error(
    JSON.stringify({
      level: 'error',
      message: database ? 'database failure' : 'unhandled error',
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      ...(database && { transient: err.transient }),
      error: String(database ? err.cause : err),
    }),
  )
  if (database && err.transient) return serviceUnavailable()
  return new Problem('internal-error', 'An unexpected error occurred.')
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof HTTPException && err.status < 500) {
    // Raised inside hono itself, e.g. "Malformed JSON in request body" from the JSON validator.
    return renderProblem(c, new Problem('invalid-request', err.message), err.status)
  }
  return renderProblem(c, problemFor(c, err))
}

export const onNotFound: NotFoundHandler<AppEnv> = (c) => renderProblem(c, notFound('There is no such resource.'))
