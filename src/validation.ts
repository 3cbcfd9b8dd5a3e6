/** Request validators: zod schemas, and every failure a 400 naming each invalid field. Typed as @hono/zod-validator's. */
import type { zValidator } from '@hono/zod-validator'
import { createMiddleware } from 'hono/factory'
import type { z } from 'zod'
import type { AppEnv } from './env'
import { annotate } from './openapi/annotate'
import { type InvalidParam, invalidRequest, unsupportedMediaType } from './problem'
import { utf8Text } from './utf8-body'

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i

/** Whether a Content-Type names JSON (`application/json` or `application/*+json`), whatever its parameters. */
export const isJsonMediaType = (contentType: string) => JSON_MEDIA_TYPE.test(contentType.split(';')[0]!.trim())

const SERVER_FIELDS = new Set(['id', 'createdAt', 'updatedAt', 'completedAt', 'version', 'number'])
const OWNER_FIELDS = new Set(['user_id', 'userId'])

function unknownKeyDetail(key: string, noun: 'field' | 'parameter'): string {
  if (OWNER_FIELDS.has(key)) return 'is not accepted: a task always belongs to the user the token names'
  if (noun === 'field' && SERVER_FIELDS.has(key)) return 'is set by the server and cannot be sent'
  return `is not a known ${noun}`
}

// RFC 6901 JSON Pointer, as a URI fragment (RFC 9457's example form).
const pointer = (path: readonly PropertyKey[]) =>
  `#${path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')}`

type Where = 'body' | 'query' | 'header'
const WHAT = { body: 'body field(s)', query: 'query parameter(s)', header: 'header(s)' } as const

function invalidParams(error: z.core.$ZodError, where: Where): InvalidParam[] {
  const noun = where === 'body' ? 'field' : 'parameter'
  const place = (path: readonly PropertyKey[], detail: string): InvalidParam =>
    where === 'body' ? { pointer: pointer(path), detail } : { parameter: String(path[0] ?? ''), detail }
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => place([...issue.path, key], unknownKeyDetail(key, noun)))
      : [place(issue.path, issue.message)],
  )
}

function describe(errors: InvalidParam[], what: string): string {
  const names = errors.map((e) => ('pointer' in e ? e.pointer.slice(2) || '(body)' : e.parameter))
  return `Invalid ${what}: ${[...new Set(names)].join(', ')}.`
}

/**
 * The hook type the casts below give zValidator: one that returns nothing, so that no 400 body
 * enters hono/client's response types (every refusal is a thrown problem).
 */
type Refuse = (result: { success: boolean }) => void

/** What hono/client must send: a query or header part whose fields are all optional may be left out. */
type Sent<T extends z.ZodType> = Record<never, never> extends z.input<T> ? z.input<T> | undefined : z.input<T>

/**
 * The schema's output for `value`, or a 400 naming every invalid field, parameter or header. Our
 * schemas have no async refinements or transforms: the synchronous parse is the whole of it.
 */
function validated<T extends z.ZodType>(schema: T, value: unknown, where: Where): z.output<T> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const errors = invalidParams(result.error, where)
  throw invalidRequest(describe(errors, WHAT[where]), errors)
}

/**
 * A JSON object body: 415 for another media type or charset, 400 for bytes that are not UTF-8
 * (src/utf8-body.ts), malformed JSON or invalid fields. One middleware, not zValidator('json')
 * behind a UTF-8 check: each layer is a promise chain and native calls on every request that
 * takes a body. Typed as zValidator's, so that handlers and hono/client see the same types.
 */
export const jsonBody = <T extends z.ZodType>(schema: T) => {
  const validate = createMiddleware<AppEnv>(async (c, next) => {
    if (!isJsonMediaType(c.req.header('Content-Type') ?? '')) throw unsupportedMediaType()
    const text = await utf8Text(c)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw invalidRequest('Malformed JSON in request body')
    }
    c.req.addValidatedData('json', validated(schema, value, 'body') as object)
    await next()
  })
  const typed = validate as unknown as ReturnType<typeof zValidator<T, 'json', AppEnv, string, Refuse>>
  return annotate(typed, {
    input: { target: 'json', schema },
    problems: ['invalid-request'],
    bodyProblems: ['invalid-request', 'unsupported-media-type'],
  })
}

/**
 * Query parameters: unknown or repeated ones are refused, never ignored. The value handed to the
 * schema is hono's (c.req.queries(), one string per parameter sent once, an array for one sent
 * more than once), built only when the URL has a query at all.
 */
export const queryParams = <T extends z.ZodType>(schema: T) => {
  const validate = createMiddleware<AppEnv>(async (c, next) => {
    const query = c.req.url.includes('?')
      ? Object.fromEntries(Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? v[0] : v]))
      : {}
    c.req.addValidatedData('query', validated(schema, query, 'query') as object)
    await next()
  })
  const typed = validate as unknown as ReturnType<typeof zValidator<T, 'query', AppEnv, string, Refuse, Sent<T>>>
  return annotate(typed, { input: { target: 'query', schema }, problems: ['invalid-request'] })
}

/** Request headers the schema names (lower-case); any others are not read. */
export const headerParams = <T extends z.ZodObject>(schema: T) => {
  const names = Object.keys(schema.shape)
  // Not zValidator('header'): hono copies every request header into an object before validating.
  const validate = createMiddleware<AppEnv>(async (c, next) => {
    const headers: Record<string, string> = {}
    for (const name of names) {
      const value = c.req.header(name)
      if (value !== undefined) headers[name] = value
    }
    c.req.addValidatedData('header', validated(schema, headers, 'header') as object)
    await next()
  })
  // Typed as zValidator's, so that handlers and hono/client see the same input and output types.
  const typed = validate as unknown as ReturnType<typeof zValidator<T, 'header', AppEnv, string, Refuse, Sent<T>>>
  return annotate(typed, { input: { target: 'header', schema }, problems: ['invalid-request'] })
}
