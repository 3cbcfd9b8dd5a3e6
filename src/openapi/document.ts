/**
 * Hand-written rather than hono-openapi or @hono/zod-openapi, which pull all of zod's locales into
 * the bundle (measured with `npm run check-bundle`); the design is theirs (metadata on the
 * middleware, a walk over `app.routes`).
 *
 * Builds the OpenAPI 3.1 document from the app's own routes: each operation's parameters, body,
 * authentication and problem responses come from the middleware it really runs behind (their
 * annotations), its name and success response from OPERATIONS. Schemas are zod's own
 * `z.toJSONSchema()` (JSON Schema 2020-12, which OpenAPI 3.1 uses as it is).
 */
import type { RouterRoute } from 'hono/types'
import * as z from 'zod'
import { CHAT_TAG_INFO } from '../chat/operations'
import { COMPAT_TAG_INFO } from '../compat/operations'
import { RESPONSE_HEADERS, type ResponseHeader } from '../headers'
import { PROBLEM_TYPES, type ProblemSlug } from '../problem'
import { type Annotation, annotationOf } from './annotate'
import { OPERATIONS, type OperationSpec, SCHEMA_NAMES } from './operations'
import { problem } from './schemas'

type Json = Record<string, unknown>
type Io = 'input' | 'output'

const INFO = {
  title: 'Tasks API',
  version: '1.0.0',
  description: [
    'A multi-user to-do API. Every route except `/health` and the documentation needs `Authorization: Bearer <JWT>`; ',
    "every task request is scoped to the token's `sub`, and no request can name another user.",
    '',
    '`HEAD` works wherever `GET` does. A known path with a wrong method answers 405 with `Allow`. ',
    'Every error is `application/problem+json` (RFC 9457) of one of these types, also listed under `x-problem-types`:',
    '',
    '| type | status | title | when |',
    '| --- | --- | --- | --- |',
    // A table in the description, because viewers (Swagger UI at /docs) render no top-level extensions.
    ...Object.entries(PROBLEM_TYPES).map(
      ([slug, { status, title, description }]) =>
        `| \`/problems/${slug}\` | ${status} | ${title} | ${description.replaceAll('|', '\\|')} |`,
    ),
  ].join('\n'),
}

/** `/tasks/:id` as OpenAPI writes it: `/tasks/{id}`. */
export const openApiPath = (honoPath: string) => honoPath.replace(/:(\w+)/g, '{$1}')

/** Whether middleware registered on `pattern` (`/*`, `/tasks/*`) runs for a route on `path`. */
function covers(pattern: string, path: string): boolean {
  if (!pattern.endsWith('/*')) return false
  const base = pattern.slice(0, -2)
  return path === base || path.startsWith(`${base}/`)
}

interface Operation {
  method: string
  path: string
  annotations: Annotation[]
}

/** Each (method, path) the app serves, with the annotations of every handler that runs for it, in order. */
function operationsOf(routes: readonly RouterRoute[]): Map<string, Operation> {
  const operations = new Map<string, Operation>()
  routes.forEach((route, index) => {
    if (route.method === 'ALL') return
    const key = `${route.method} ${openApiPath(route.path)}`
    let operation = operations.get(key)
    if (!operation) {
      const before = routes.slice(0, index).filter((r) => r.method === 'ALL' && covers(r.path, route.path))
      operation = { method: route.method, path: openApiPath(route.path), annotations: [] }
      for (const r of before) {
        const annotation = annotationOf(r.handler)
        if (annotation) operation.annotations.push(annotation)
      }
      operations.set(key, operation)
    }
    const annotation = annotationOf(route.handler)
    if (annotation) operation.annotations.push(annotation)
  })
  return operations
}

class Builder {
  readonly schemas: Record<string, Json> = {}

  /** JSON Schema for `schema`, as a `$ref` into components when it has a name. */
  schema(schema: z.ZodType, io: Io): Json {
    const name = SCHEMA_NAMES.get(schema)
    if (name && this.schemas[name]) return { $ref: `#/components/schemas/${name}` }
    // `unrepresentable: 'any'`: a refinement or transform has no JSON Schema; the document shows
    // its input type, and the limits the schemas state with .meta().
    const { $schema: _, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json
    if (!name) return json
    this.schemas[name] = json
    return { $ref: `#/components/schemas/${name}` }
  }

  parameters(operation: Operation): Json[] {
    const parameters: Json[] = []
    const add = (where: 'path' | 'query' | 'header', schema: z.ZodType) => {
      const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
        properties?: Record<string, Json>
        required?: string[]
      }
      for (const [name, property] of Object.entries(json.properties ?? {})) {
        const { description, ...rest } = property
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (json.required ?? []).includes(name),
          ...(description !== undefined && { description }),
          schema: rest,
        })
      }
    }
    for (const { input } of operation.annotations) {
      if (input?.target === 'param') add('path', input.schema)
      if (input?.target === 'query') add('query', input.schema)
      if (input?.target === 'header') add('header', input.schema)
    }
    // A path parameter no validator describes is still a parameter.
    for (const [, name] of operation.path.matchAll(/\{(\w+)\}/g)) {
      if (!parameters.some((p) => p.in === 'path' && p.name === name)) {
        parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } })
      }
    }
    return parameters
  }

  responses(operation: Operation, spec: OperationSpec, hasBody: boolean): Json {
    const headers = new Set<ResponseHeader>(['X-Request-Id'])
    for (const annotation of operation.annotations) for (const h of annotation.headers ?? []) headers.add(h)
    const headerRefs = (extra: readonly ResponseHeader[] = []) =>
      Object.fromEntries([...headers, ...extra].map((h) => [h, { $ref: `#/components/headers/${h}` }]))

    const responses: Json = {}
    for (const success of [spec.success, ...(spec.alsoSuccess ?? [])]) {
      responses[success.status] = {
        description: success.description,
        headers: headerRefs(success.headers),
        ...(success.status !== 101 &&
          success.status !== 204 &&
          success.status !== 304 && {
            content: {
              'application/json': success.schema ? { schema: this.schema(success.schema, 'output') } : {},
            },
          }),
      }
    }

    const slugs = new Set<ProblemSlug>(['internal-error'])
    for (const annotation of operation.annotations) {
      for (const s of annotation.problems ?? []) slugs.add(s)
      if (hasBody) for (const s of annotation.bodyProblems ?? []) slugs.add(s)
    }
    for (const s of spec.problems ?? []) slugs.add(s)
    const byStatus = new Map<number, ProblemSlug[]>()
    for (const slug of Object.keys(PROBLEM_TYPES) as ProblemSlug[]) {
      if (!slugs.has(slug)) continue
      const { status } = PROBLEM_TYPES[slug]
      byStatus.set(status, [...(byStatus.get(status) ?? []), slug])
    }
    const problemSchema = this.schema(problem, 'output')
    for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
      const extra: ResponseHeader[] =
        status === 401 ? ['WWW-Authenticate'] : status === 429 || status === 503 ? ['Retry-After'] : []
      responses[status] = {
        description: group.map((slug) => PROBLEM_TYPES[slug].title).join('; '),
        headers: headerRefs(extra),
        content: {
          'application/problem+json': {
            schema: problemSchema,
            examples: Object.fromEntries(
              group.map((slug) => {
                const { title, description } = PROBLEM_TYPES[slug]
                return [
                  slug,
                  {
                    summary: title,
                    value: { type: `/problems/${slug}`, title, status, detail: description, requestId: '…' },
                  },
                ]
              }),
            ),
          },
        },
      }
    }
    return responses
  }
}

export interface OpenApiDocument {
  openapi: '3.1.1'
  info: typeof INFO
  servers: { url: string }[]
  paths: Record<string, Record<string, Json>>
  components: Json
  tags: { name: string; description?: string }[]
  'x-problem-types': { type: string; status: number; title: string; description: string }[]
}

/** The document for these routes. Throws when a route and OPERATIONS disagree. */
export function buildDocument(routes: readonly RouterRoute[]): OpenApiDocument {
  const builder = new Builder()
  const paths: OpenApiDocument['paths'] = {}
  const operations = operationsOf(routes)
  for (const key of Object.keys(OPERATIONS)) {
    if (!operations.has(key))
      throw new Error(`src/openapi/operations.ts describes ${key}, which the app does not serve`)
  }
  for (const [key, operation] of operations) {
    const spec = OPERATIONS[key]
    if (!spec) throw new Error(`${key} has no entry in src/openapi/operations.ts`)
    const authenticated = operation.annotations.some((a) => a.authenticates)
    const parameters = builder.parameters(operation)
    const body = operation.annotations.find((a) => a.input?.target === 'json')?.input
    paths[operation.path] ??= {}
    paths[operation.path]![operation.method.toLowerCase()] = {
      operationId: spec.operationId,
      tags: [spec.tag],
      summary: spec.summary,
      ...(spec.description !== undefined && { description: spec.description }),
      security: authenticated ? [{ bearerAuth: [] }] : [],
      ...(parameters.length > 0 && { parameters }),
      ...(body && {
        requestBody: {
          required: true,
          content: { 'application/json': { schema: builder.schema(body.schema, 'input') } },
        },
      }),
      responses: builder.responses(operation, spec, body !== undefined),
    }
  }
  return {
    openapi: '3.1.1',
    info: INFO,
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: builder.schemas,
      headers: Object.fromEntries(
        Object.entries(RESPONSE_HEADERS).map(([name, { description, schema }]) => [name, { description, schema }]),
      ),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A JWT from Better Auth (EdDSA and other asymmetric algorithms via its key set, or HS256 with a shared secret).',
        },
      },
    },
    tags: [
      { name: 'Tasks' },
      { name: 'Notifications' },
      { name: 'Account' },
      { name: 'Push' },
      { name: 'Service' },
      { name: 'Documentation' },
      CHAT_TAG_INFO,
      COMPAT_TAG_INFO,
    ],
    'x-problem-types': Object.entries(PROBLEM_TYPES).map(([slug, { status, title, description }]) => ({
      type: `/problems/${slug}`,
      status,
      title,
      description,
    })),
  }
}

const serialized = new WeakMap<readonly RouterRoute[], string>()

/** The document as JSON, built once per isolate: the routes never change after start-up. */
export function documentJson(routes: readonly RouterRoute[]): string {
  let json = serialized.get(routes)
  if (json === undefined) {
    json = JSON.stringify(buildDocument(routes))
    serialized.set(routes, json)
  }
  return json
}
