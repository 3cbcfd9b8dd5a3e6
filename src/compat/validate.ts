/**
 * Input checks for the /api routes, as FastAPI answered them: a 422 whose `detail` is one readable
 * sentence (the frontends show `error.detail`) and whose `errors` lists every field. Not
 * @hono/zod-validator, whose types the main API's validators take: its JSON target refuses the
 * missing or empty body a toggle is sent with, and its hook sees the input only after parsing, too
 * late to drop empty parameters or to refuse another user's id before anything else.
 *
 * A `user_id` (or `userId`) in the path, query or body is never an identity: it must be the
 * token's `sub` (then it is ignored, as it names the caller anyway) or the request is a 403.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { validator } from 'hono/validator'
import * as z from 'zod'
import type { AppEnv } from '../env'
import { annotate } from '../openapi/annotate'
import { forbidden, type InvalidParam, notFound, unprocessable, unsupportedMediaType } from '../problem'
import { decodeUtf8 } from '../utf8-body'
import { isJsonMediaType } from '../validation'

const OWNER_KEYS = ['user_id', 'userId'] as const

const otherUser = () => forbidden('The request names another user; a token can only act for its own user.')

/** 403 when `value`, from the request, names a user other than the token's. */
function checkOwner(c: Context<AppEnv>, value: unknown) {
  if (value !== undefined && value !== c.get('user').id) throw otherUser()
}

// RFC 6901 JSON Pointer, as a URI fragment, like the main API's errors.
const pointer = (path: readonly PropertyKey[]) =>
  `#${path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('')}`

/** The schema's output for `value`, or a 422 that names each invalid field in `detail` and in `errors`. */
function parse<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'query'): z.output<T> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const named = result.error.issues.map((issue) => ({
    name: issue.path.map(String).join('.') || (where === 'body' ? 'body' : 'query'),
    error: (where === 'body'
      ? { pointer: pointer(issue.path), detail: issue.message }
      : { parameter: String(issue.path[0] ?? ''), detail: issue.message }) as InvalidParam,
  }))
  const what = where === 'body' ? 'request body' : 'query parameters'
  throw unprocessable(
    `Invalid ${what}. ${named.map(({ name, error }) => `${name}: ${error.detail}`).join('; ')}.`,
    named.map(({ error }) => error),
  )
}

/** The 422 `parse` gives for one invalid body field, for checks that need the stored task. */
export const invalidBody = (name: string, detail: string) =>
  unprocessable(`Invalid request body. ${name}: ${detail}.`, [{ pointer: pointer([name]), detail }])

type Validated<Target extends 'json' | 'query' | 'param', T> = { out: { [K in Target]: T } }

/** Query parameters: unknown ones ignored, empty ones absent, `user_id`/`userId` checked. */
export const apiQuery = <T extends z.ZodType>(schema: T) =>
  annotate(
    validator('query', (query, c) => {
      for (const key of OWNER_KEYS) checkOwner(c, query[key])
      const given = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== ''))
      return parse(schema, given, 'query')
    }) as unknown as MiddlewareHandler<AppEnv, string, Validated<'query', z.output<T>>>,
    { input: { target: 'query', schema }, problems: ['forbidden', 'unprocessable-content'] },
  )

/** Routes whose only query parameter that matters is a `user_id` naming the caller. */
export const ownerQuery = apiQuery(z.object({}))

/**
 * A JSON object body. Without a Content-Type it is read as JSON too, as FastAPI read it; with
 * `optional`, a missing or empty body is `{}`.
 */
export const apiBody = <T extends z.ZodType>(schema: T, { optional = false } = {}) =>
  annotate(
    (async (c, next) => {
      const contentType = c.req.header('Content-Type')
      // Strictly, as FastAPI decoded it: a byte that is not UTF-8 is a 422, never a stored U+FFFD.
      const text = decodeUtf8(await c.req.arrayBuffer())
      if (text === undefined) {
        throw unprocessable('The request body is not valid UTF-8.', [{ pointer: '#', detail: 'is not valid UTF-8' }])
      }
      let value: unknown = {}
      if (!(optional && text.trim() === '')) {
        if (contentType && !isJsonMediaType(contentType)) {
          throw unsupportedMediaType()
        }
        try {
          value = JSON.parse(text)
        } catch {
          throw unprocessable('The request body is not valid JSON.', [{ pointer: '#', detail: 'is not valid JSON' }])
        }
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw unprocessable('The request body must be a JSON object.', [{ pointer: '#', detail: 'must be an object' }])
      }
      for (const key of OWNER_KEYS) checkOwner(c, (value as Record<string, unknown>)[key])
      c.req.addValidatedData('json', parse(schema, value, 'body') as object)
      await next()
    }) as MiddlewareHandler<AppEnv, string, Validated<'json', z.output<T>>>,
    {
      input: { target: 'json', schema },
      problems: ['forbidden', 'unprocessable-content'],
      bodyProblems: ['unsupported-media-type'],
    },
  )

/** For the prefix without `{user_id}`: the path names no user, so there is nothing to check. */
export const anyPath = createMiddleware<AppEnv>((_c, next) => next())

/**
 * `{user_id}` in the path: the caller's own id proceeds, any other is a 403 before any D1
 * statement or body is read.
 */
export const pathUser = annotate(
  validator('param', (params, c) => {
    checkOwner(c, params.user_id)
    return {}
  }),
  {
    input: {
      target: 'param',
      schema: z.object({ user_id: z.string().meta({ description: "Must be the token's `sub`; any other is a 403." }) }),
    },
    problems: ['forbidden'],
  },
)

// Numbers as the schema stores them: positive integers within JavaScript's exact range.
const NUMBER = /^[1-9]\d{0,15}$/

/** `{id}` in the path: a task number. Anything else, a main-API UUID included, names no task: 404. */
export const taskNumber = annotate(
  validator('param', (params) => {
    const id = params.id ?? ''
    if (!NUMBER.test(id) || !Number.isSafeInteger(Number(id))) throw notFound('No task has this id.')
    return { number: Number(id) }
  }) as unknown as MiddlewareHandler<AppEnv, string, Validated<'param', { number: number }>>,
  {
    input: {
      target: 'param',
      schema: z.object({ id: z.int().min(1).meta({ description: 'The task number (`id` in its body).' }) }),
    },
    problems: ['not-found'],
  },
)
