/** Typed request validators that turn every zod failure into a 400 naming each invalid field. */
import { validator } from 'hono/validator'
import type { z } from 'zod'
import { type InvalidParam, invalidRequest, unsupportedMediaType } from './problem'

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i

const SERVER_FIELDS = new Set(['id', 'createdAt', 'updatedAt', 'completedAt', 'version'])
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

function invalidParams(error: z.ZodError, where: Where): InvalidParam[] {
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

/** The schema's output for `value`, or a 400 naming every invalid field, parameter or header. */
function parse<T extends z.ZodType>(schema: T, value: unknown, where: Where): z.output<T> {
  const result = schema.safeParse(value)
  if (!result.success) {
    const errors = invalidParams(result.error, where)
    throw invalidRequest(describe(errors, WHAT[where]), errors)
  }
  return result.data
}

/** A JSON object body (415 for another media type, 400 for malformed JSON or invalid fields). */
export const jsonBody = <T extends z.ZodType>(schema: T) =>
  validator('json', (value, c) => {
    const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim()
    if (!JSON_MEDIA_TYPE.test(mediaType)) throw unsupportedMediaType()
    return parse(schema, value, 'body')
  })

/** Query parameters: unknown or repeated ones are refused, never ignored. */
export const queryParams = <T extends z.ZodType>(schema: T) =>
  validator('query', (value) => parse(schema, value, 'query'))

/** Request headers the schema names (lower-case); any others pass through unvalidated. */
export const headerParams = <T extends z.ZodType>(schema: T) =>
  validator('header', (value) => parse(schema, value, 'header'))
