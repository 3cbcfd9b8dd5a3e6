/** Typed request validators that turn every zod failure into a 400 naming each invalid field. */
import type { Env, MiddlewareHandler } from 'hono'
import { validator } from 'hono/validator'
import type { z } from 'zod'
import { annotate } from './openapi/annotate'
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

/**
 * The types a validator gives hono, and through it `hono/client`: the schema's input is what a
 * client sends (defaults optional), its output what the handler gets. A query or header part whose
 * fields are all optional need not be passed at all.
 */
type Validated<Target extends 'json' | 'query' | 'header', T extends z.ZodType> = {
  in: Target extends 'json'
    ? { [K in Target]: z.input<T> }
    : {} extends z.input<T>
      ? { [K in Target]?: z.input<T> }
      : { [K in Target]: z.input<T> }
  out: { [K in Target]: z.output<T> }
}
type ValidatorOf<
  Target extends 'json' | 'query' | 'header',
  T extends z.ZodType,
  E extends Env,
  P extends string,
> = MiddlewareHandler<E, P, Validated<Target, T>>

/** A JSON object body (415 for another media type, 400 for malformed JSON or invalid fields). */
export const jsonBody = <T extends z.ZodType, E extends Env = any, P extends string = string>(schema: T) =>
  annotate(
    validator('json', (value, c) => {
      const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim()
      if (!JSON_MEDIA_TYPE.test(mediaType)) throw unsupportedMediaType()
      return parse(schema, value, 'body')
    }) as unknown as ValidatorOf<'json', T, E, P>,
    { input: { target: 'json', schema }, problems: ['invalid-request'], bodyProblems: ['unsupported-media-type'] },
  )

/** Query parameters: unknown or repeated ones are refused, never ignored. */
export const queryParams = <T extends z.ZodType, E extends Env = any, P extends string = string>(schema: T) =>
  annotate(validator('query', (value) => parse(schema, value, 'query')) as unknown as ValidatorOf<'query', T, E, P>, {
    input: { target: 'query', schema },
    problems: ['invalid-request'],
  })

/** Request headers the schema names (lower-case); any others pass through unvalidated. */
export const headerParams = <T extends z.ZodType, E extends Env = any, P extends string = string>(schema: T) =>
  annotate(
    validator('header', (value) => parse(schema, value, 'header')) as unknown as ValidatorOf<'header', T, E, P>,
    {
      input: { target: 'header', schema },
      problems: ['invalid-request'],
    },
  )
