/**
 * The response headers the API sets: the one table that CORS exposes to page JavaScript (those
 * marked `exposed`) and the OpenAPI document describes (`components.headers`).
 */

/** Set to `true` on a response that replays the one an Idempotency-Key first got. */
export const REPLAYED_HEADER = 'Idempotent-Replayed'
/** The D1 session bookmark (src/session.ts), a request and a response header. */
export const BOOKMARK_HEADER = 'x-d1-bookmark'

/** OpenAPI header objects, plus `exposed`: readable by page JavaScript through CORS. */
export const RESPONSE_HEADERS = {
  'X-Request-Id': {
    description: 'Identifies the request in the logs; also in every problem body as `requestId`.',
    schema: { type: 'string' },
    exposed: true,
  },
  ETag: {
    description:
      'The task\'s version as a strong entity tag, `"v<version>"`: send it in `If-Match` or `If-None-Match`.',
    schema: { type: 'string' },
    exposed: true,
  },
  Location: { description: 'The new task: `/tasks/{id}`.', schema: { type: 'string' }, exposed: true },
  [REPLAYED_HEADER]: {
    description: '`true` when this is the stored response to an earlier request with the same `Idempotency-Key`.',
    schema: { type: 'string', enum: ['true'] },
    exposed: true,
  },
  [BOOKMARK_HEADER]: {
    description:
      'The newest database position this request saw. Send it back as the `x-d1-bookmark` request header to read your own writes.',
    schema: { type: 'string' },
    exposed: true,
  },
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer', minimum: 1 },
    exposed: true,
  },
  'Content-Disposition': {
    description: '`attachment; filename="tasks-export.json"`: a browser saves the export as a file.',
    schema: { type: 'string' },
    exposed: true,
  },
  'WWW-Authenticate': {
    description:
      'The bearer challenge: `Bearer realm="tasks"`, with `error` and `error_description` when a token was refused, and `scope` when it lacks one (`insufficient_scope`).',
    schema: { type: 'string' },
    // An MCP client in a browser finds the authorization server through its resource_metadata.
    exposed: true,
  },
} as const satisfies Record<string, { description: string; schema: Record<string, unknown>; exposed?: true }>

export type ResponseHeader = keyof typeof RESPONSE_HEADERS

/**
 * Sets a header on a finished response unless its handler set one: the handler's own value wins,
 * as it would over a c.header() made before the handler ran. src/respond.ts puts the common
 * headers on a response it did not build this way.
 */
export function setUnlessSet(headers: Headers, name: string, value: string): void {
  if (!headers.has(name)) headers.set(name, value)
}
