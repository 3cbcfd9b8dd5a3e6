/** Response headers the API sets, as OpenAPI header objects (`components.headers`). */
export const RESPONSE_HEADERS = {
  'X-Request-Id': {
    description: 'Identifies the request in the logs; also in every problem body as `requestId`.',
    schema: { type: 'string' },
  },
  ETag: {
    description:
      'The task\'s version as a strong entity tag, `"v<version>"`: send it in `If-Match` or `If-None-Match`.',
    schema: { type: 'string' },
  },
  Location: { description: 'The new task: `/tasks/{id}`.', schema: { type: 'string' } },
  'Idempotent-Replayed': {
    description: '`true` when this is the stored response to an earlier request with the same `Idempotency-Key`.',
    schema: { type: 'string', enum: ['true'] },
  },
  'x-d1-bookmark': {
    description:
      'The newest database position this request saw. Send it back as the `x-d1-bookmark` request header to read your own writes.',
    schema: { type: 'string' },
  },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
  'WWW-Authenticate': {
    description:
      'The bearer challenge: `Bearer realm="tasks"`, with `error` and `error_description` when a token was refused.',
    schema: { type: 'string' },
  },
} as const satisfies Record<string, { description: string; schema: Record<string, unknown> }>

export type ResponseHeader = keyof typeof RESPONSE_HEADERS
