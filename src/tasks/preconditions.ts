/**
 * Conditional requests on one task (RFC 9110 §13). A task's ETag is the strong tag `"v<version>"`;
 * the version goes up by one on every write, so the tag changes exactly when the task does.
 *
 * If-Match and If-None-Match are read into a VersionCondition: which versions the client holds.
 * Writes check it inside their one UPDATE/DELETE statement (repo.ts), reads check it here.
 */
import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import * as z from 'zod'
import type { AppEnv } from '../env'
import { annotate } from '../openapi/annotate'
import { invalidRequest } from '../problem'

export const etagOf = (version: number): string => `"v${version}"`

/** The versions a list of entity tags names; `*` is any version. Tags not of our form name none. */
export type Versions = '*' | number[]

export interface VersionCondition {
  /** If-Match: the task's version must be one of these (strong comparison: weak tags never match). */
  match?: Versions
  /** If-None-Match: the task's version must be none of these (weak comparison). */
  noneMatch?: Versions
}

// One list element: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text
// (RFC 9110 §8.8.3), or nothing (empty elements are allowed in any list field), then a comma or the
// end. A comma may occur inside a tag, so the list cannot simply be split on commas.
const ELEMENT = /[ \t]*(?:(W\/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(,|$)/y
// Our own opaque-tags; anything else is well-formed but can match no task.
const OURS = /^v([1-9]\d{0,14})$/

/**
 * `*` or a list of entity tags; undefined when the field is not RFC 9110 syntax, or names no tag.
 */
function parseVersions(value: string, weakMatches: boolean): Versions | undefined {
  if (value.trim() === '*') return '*'
  const versions: number[] = []
  let tags = 0
  for (ELEMENT.lastIndex = 0; ; ) {
    const element = ELEMENT.exec(value)
    if (!element) return undefined
    const [, weak, opaque, separator] = element
    if (opaque !== undefined) {
      tags++
      const ours = OURS.exec(opaque)
      if (ours && (weakMatches || !weak)) versions.push(Number(ours[1]))
    }
    if (separator === '') break
  }
  return tags > 0 ? versions : undefined
}

const malformed = (header: string) =>
  invalidRequest(`The ${header} header must be * or a list of entity tags, e.g. "v3".`, [
    { parameter: header, detail: 'is not * or a list of entity tags' },
  ])

/**
 * The request's If-Match and If-None-Match, as `c.req.valid('header')`. A field that is not valid
 * syntax is a 400 rather than a failed condition (412): it is a client bug, and a 412 would send
 * the client to refetch and retry the same bad header forever.
 */
// Not hono's validator('header'): it copies every request header into an object first, for two.
const validateConditions = createMiddleware<AppEnv>(async (c, next) => {
  const condition: VersionCondition = {}
  const ifMatch = c.req.header('If-Match')
  if (ifMatch !== undefined) {
    const match = parseVersions(ifMatch, false)
    if (match === undefined) throw malformed('If-Match')
    condition.match = match
  }
  const ifNoneMatch = c.req.header('If-None-Match')
  if (ifNoneMatch !== undefined) {
    const noneMatch = parseVersions(ifNoneMatch, true)
    if (noneMatch === undefined) throw malformed('If-None-Match')
    condition.noneMatch = noneMatch
  }
  c.req.addValidatedData('header', condition)
  await next()
})

/** The headers as a client sends them (for hono/client and the OpenAPI document). */
const conditionalHeaderSchema = z.object({
  'if-match': z
    .string()
    .optional()
    .meta({ description: 'Act only if the task is at one of these versions: `"v3"`, a list, or `*`; else 412.' }),
  'if-none-match': z
    .string()
    .optional()
    .meta({ description: 'On a read, 304 if the task is still at one of these versions; on a write, 412 if it is.' }),
})

export const conditionalHeaders = annotate(
  validateConditions as unknown as MiddlewareHandler<
    AppEnv,
    string,
    { in: { header?: z.input<typeof conditionalHeaderSchema> }; out: { header: VersionCondition } }
  >,
  {
    input: { target: 'header', schema: conditionalHeaderSchema },
    problems: ['invalid-request', 'precondition-failed'],
  },
)

const names = (versions: Versions, version: number) => versions === '*' || versions.includes(version)

/**
 * RFC 9110 §13.2.2 for a read of an existing task at `version`: If-Match first, then If-None-Match,
 * whose match means the client's copy is current (304).
 */
export function evaluateRead(condition: VersionCondition, version: number): 'ok' | 'failed' | 'not-modified' {
  if (condition.match !== undefined && !names(condition.match, version)) return 'failed'
  if (condition.noneMatch !== undefined && names(condition.noneMatch, version)) return 'not-modified'
  return 'ok'
}

/** Whether a write's condition holds for a task at `version`, as the write's own WHERE terms decide it (repo.ts). */
export const satisfies = (condition: VersionCondition, version: number): boolean =>
  (condition.match === undefined || names(condition.match, version)) &&
  (condition.noneMatch === undefined || (condition.noneMatch !== '*' && !names(condition.noneMatch, version)))
