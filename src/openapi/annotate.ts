/**
 * What a middleware contributes to the operations it runs for: the request part it validates and
 * with which schema, whether it authenticates, the problems it can answer with, the headers it adds.
 * Set where the middleware is defined; the generator (document.ts) collects them from `app.routes`,
 * so the document describes what the app really runs, not what a table says it runs.
 */
import type * as z from 'zod'
import type { ResponseHeader } from '../headers'
import type { ProblemSlug } from '../problem'

export interface Annotation {
  input?: { target: 'json' | 'query' | 'header' | 'param'; schema: z.ZodType }
  /** Requires `Authorization: Bearer <JWT>`. */
  authenticates?: true
  problems?: readonly ProblemSlug[]
  /** Problems it can answer with only when the operation takes a body (a GET has none to refuse). */
  bodyProblems?: readonly ProblemSlug[]
  /** Headers it sets on every response of the operation. */
  headers?: readonly ResponseHeader[]
}

const annotations = new WeakMap<object, Annotation>()

/** Returns `middleware` itself, now described by `annotation`. */
export function annotate<M extends object>(middleware: M, annotation: Annotation): M {
  annotations.set(middleware, annotation)
  return middleware
}

export const annotationOf = (middleware: object): Annotation | undefined => annotations.get(middleware)
