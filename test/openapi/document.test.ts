/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest'
import type * as z from 'zod'
import { app } from '../../src/app'
import { annotationOf } from '../../src/openapi/annotate'
import { buildDocument, type OpenApiDocument, openApiPath } from '../../src/openapi/document'
import * as schemas from '../../src/openapi/schemas'
import * as model from '../../src/tasks/model'
import { invalidNames, request, signIn } from '../helpers'

// biome-ignore lint/suspicious/noExplicitAny: the document is walked as untyped JSON
type Json = Record<string, any>
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

const fetched = async () => {
  const res = await request('/openapi.json')
  expect(res.status).toBe(200)
  return res.json<OpenApiDocument & { components: Json }>()
}

/** Every (method, path) the app serves: not middleware, not the `.all()` 405 handlers. */
const served = () =>
  new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${openApiPath(r.path)}`))

const documented = (doc: Json) =>
  new Set(
    Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => METHODS.includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    ),
  )

const operations = (doc: Json) =>
  Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, op: op as Json })),
  )

/** The keys a (possibly piped or transformed) zod object accepts. */
function acceptedKeys(schema: z.ZodType): string[] {
  // biome-ignore lint/suspicious/noExplicitAny: zod's internal definition has no public type
  let def = (schema as any)._zod.def
  while (def.type === 'pipe') def = def.in._zod.def
  expect(def.type, 'a query or header schema is an object').toBe('object')
  return Object.keys(def.shape)
}

/**
 * The schemas the routes' own validators run for (method, path), of one request part: its own
 * handlers', and those of middleware registered before them (a handler that answers ends the chain).
 */
function routeSchemas(method: string, path: string, target: 'query' | 'header') {
  // Middleware mounted after the route's handler never runs for it (a /tasks/* use() after /tasks/events).
  const last = app.routes.findLastIndex((r) => r.method === method && openApiPath(r.path) === path)
  return app.routes
    .filter(
      (r, index) =>
        (r.method === method && openApiPath(r.path) === path) ||
        (index < last && r.method === 'ALL' && r.path.endsWith('/*') && path.startsWith(r.path.slice(0, -2))),
    )
    .map((r) => annotationOf(r.handler)?.input)
    .filter((input) => input?.target === target)
    .map((input) => input!.schema)
}

describe('GET /openapi.json', () => {
  // The /docs page is static assets, which only wrangler dev and production serve: test/e2e/docs.e2e.ts.
  it('needs no token, and answers 405 to other methods', async () => {
    expect((await request('/openapi.json')).status).toBe(200)
    const res = await request('/openapi.json', { method: 'POST' })
    expect(res.status).toBe(405)
    expect(res.headers.get('Allow')).toBe('GET, HEAD')
  })

  it('is public, JSON and cacheable, and is the document built from the routes', async () => {
    const res = await request('/openapi.json')
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toBe('application/json')
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=300')
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(buildDocument(app.routes))))
  })

  it('documents every route the app serves, and nothing it does not', async () => {
    const doc = await fetched()
    expect([...documented(doc)].sort()).toEqual([...served()].sort())
    expect(served().size).toBeGreaterThanOrEqual(11)
  })

  it('refuses to build when a route has no description, or a description no route', () => {
    const route = { method: 'GET', path: '/undocumented', basePath: '/', handler: () => new Response() }
    expect(() => buildDocument([...app.routes, route])).toThrow(/GET \/undocumented has no entry/)
    expect(() => buildDocument(app.routes.filter((r) => r.path !== '/health'))).toThrow(/describes GET \/health/)
  })

  it('documents every query parameter and header each route validates, and the route knows each one', async () => {
    const doc = await fetched()
    const user = await signIn()
    for (const { method, path, op } of operations(doc)) {
      for (const [target, where] of [
        ['query', 'query'],
        ['header', 'header'],
      ] as const) {
        const accepted = routeSchemas(method, path, target).flatMap(acceptedKeys).sort()
        const listed = ((op.parameters ?? []) as Json[])
          .filter((p) => p.in === where)
          .map((p) => p.name)
          .sort()
        expect(listed, `${method} ${path} ${where}`).toEqual(accepted)
      }
      // Behaviour, not the annotation: an undocumented query parameter is refused as unknown,
      // and no documented one is.
      if (method !== 'GET' || path.includes('{') || op.security.length === 0) continue
      // The /api routes ignore unknown parameters, as the FastAPI backend did (test/compat/list.test.ts).
      if (path.startsWith('/api/')) {
        expect((await user.request(`${path}?not_documented=1`)).status, path).toBe(200)
        continue
      }
      const unknown = await user.request(`${path}?not_documented=1`)
      expect(invalidNames(await unknown.json()), path).toEqual(['not_documented'])
      for (const p of (op.parameters ?? []).filter((p: Json) => p.in === 'query')) {
        const res = await user.request(`${path}?${p.name}=${encodeURIComponent('\u0000')}`)
        const body = await res.json<Json>()
        const detail = (body.errors ?? []).find((e: Json) => e.parameter === p.name)?.detail
        expect(detail, `${path}?${p.name}`).not.toBe('is not a known parameter')
      }
    }
  })

  it('is structurally valid OpenAPI 3.1: required fields, unique operation ids, declared path parameters', async () => {
    const doc = await fetched()
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/)
    expect(doc.info).toEqual(expect.objectContaining({ title: expect.any(String), version: expect.any(String) }))
    expect(Object.keys(doc.paths).every((p) => p.startsWith('/'))).toBe(true)
    const ids = operations(doc).map(({ op }) => op.operationId)
    expect(new Set(ids).size).toBe(ids.length)
    for (const { method, path, op } of operations(doc)) {
      const where = `${method} ${path}`
      expect(op.responses, where).toBeTypeOf('object')
      expect(
        // 101: GET /tasks/live switches to a WebSocket.
        Object.keys(op.responses).some((s) => /^(101|2\d\d)$/.test(s)),
        where,
      ).toBe(true)
      for (const status of Object.keys(op.responses)) expect(status, where).toMatch(/^[1-5]\d\d$/)
      for (const response of Object.values(op.responses) as Json[]) expect(response.description, where).toBeTruthy()
      const declared = ((op.parameters ?? []) as Json[]).filter((p) => p.in === 'path')
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])
      expect(
        declared.map((p) => p.name),
        where,
      ).toEqual(inPath)
      expect(
        declared.every((p) => p.required === true),
        where,
      ).toBe(true)
      for (const p of op.parameters ?? []) {
        expect(['query', 'header', 'path', 'cookie'], where).toContain(p.in)
        expect(p.schema, `${where} ${p.name}`).toBeTypeOf('object')
      }
      for (const requirement of op.security) {
        for (const scheme of Object.keys(requirement))
          expect(doc.components.securitySchemes, where).toHaveProperty(scheme)
      }
    }
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    })
  })

  it('resolves every $ref', async () => {
    const doc = await fetched()
    const refs: string[] = []
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk)
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref') refs.push(value as string)
          else walk(value)
        }
      }
    }
    walk(doc)
    expect(refs.length).toBeGreaterThan(20)
    for (const ref of new Set(refs)) {
      expect(ref, ref).toMatch(/^#\//)
      const target = ref
        .slice(2)
        .split('/')
        .reduce<Json | undefined>((at, part) => at?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc)
      expect(target, ref).toBeTypeOf('object')
    }
  })

  it('gives every protected operation the bearer scheme and a 401, and every public one neither', async () => {
    const doc = await fetched()
    const publicOnes = operations(doc)
      .filter(({ op }) => op.security.length === 0)
      .map(({ method, path }) => `${method} ${path}`)
    expect(publicOnes.sort()).toEqual(['GET /health', 'GET /openapi.json', 'GET /push/public-key'])
    for (const { method, path, op } of operations(doc)) {
      if (op.security.length === 0) {
        expect(op.responses, `${method} ${path}`).not.toHaveProperty('401')
        continue
      }
      expect(op.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }])
      expect(op.responses['401'].headers, `${method} ${path}`).toHaveProperty('WWW-Authenticate')
      expect(op.responses, `${method} ${path}`).toHaveProperty('429')
    }
  })

  it.each([
    ['POST', '/tasks', [400, 401, 409, 413, 415, 422, 429, 500, 503]],
    ['GET', '/tasks', [400, 401, 429, 500, 503]],
    ['DELETE', '/tasks', [400, 401, 429, 500, 503]],
    ['GET', '/tasks/changes', [400, 401, 410, 429, 500, 503]],
    ['GET', '/tasks/{id}', [400, 401, 403, 404, 412, 429, 500, 503]],
    ['PUT', '/tasks/{id}', [400, 401, 403, 404, 409, 412, 413, 415, 429, 500, 503]],
    ['PATCH', '/tasks/{id}', [400, 401, 403, 404, 409, 412, 413, 415, 429, 500, 503]],
    ['DELETE', '/tasks/{id}', [400, 401, 403, 404, 412, 429, 500, 503]],
    ['GET', '/me', [400, 401, 429, 500, 503]],
    ['GET', '/health', [500]],
  ] as const)('lists the problems %s %s can answer with', async (method, path, statuses) => {
    const doc = await fetched()
    const op = doc.paths[path]![method.toLowerCase()] as Json
    const problems = Object.entries(op.responses as Json).filter(
      ([, r]) => (r as Json).content?.['application/problem+json'],
    )
    expect(problems.map(([s]) => Number(s))).toEqual(statuses)
    for (const [status, response] of problems) {
      const examples = Object.values((response as Json).content['application/problem+json'].examples) as Json[]
      for (const { value } of examples) {
        expect(value.status).toBe(Number(status))
        expect(doc['x-problem-types'].map((t) => t.type)).toContain(value.type)
      }
    }
  })

  it('documents the headers the responses carry', async () => {
    const doc = await fetched()
    const create = doc.paths['/tasks']!.post as Json
    expect(Object.keys(create.responses['201'].headers).sort()).toEqual(
      ['ETag', 'Idempotent-Replayed', 'Location', 'X-Request-Id', 'x-d1-bookmark'].sort(),
    )
    const get = doc.paths['/tasks/{id}']!.get as Json
    expect(get.responses['200'].headers).toHaveProperty('ETag')
    expect(get.responses['304']).toMatchObject({ headers: { ETag: { $ref: '#/components/headers/ETag' } } })
    expect(get.responses['304']).not.toHaveProperty('content')
    expect(get.parameters.map((p: Json) => `${p.in} ${p.name}`).sort()).toEqual(
      ['header if-match', 'header if-none-match', 'header x-d1-bookmark', 'path id'].sort(),
    )
    expect(create.responses['503'].headers).toHaveProperty('Retry-After')
    expect(create.responses['429'].headers).toHaveProperty('Retry-After')
    expect(create.parameters.map((p: Json) => `${p.in} ${p.name}`).sort()).toEqual([
      'header idempotency-key',
      'header x-d1-bookmark',
    ])
    expect((doc.paths['/health']!.get as Json).responses['200'].headers).not.toHaveProperty('x-d1-bookmark')
  })

  it('documents the list parameters and the task id with their schemas', async () => {
    const doc = await fetched()
    const list = (doc.paths['/tasks']!.get as Json).parameters as Json[]
    const query = Object.fromEntries(list.filter((p) => p.in === 'query').map((p) => [p.name, p]))
    expect(Object.keys(query)).toEqual(expect.arrayContaining(['limit', 'cursor', 'completed']))
    expect(query.limit).toMatchObject({ required: false, description: expect.stringContaining('1 to 100') })
    expect(query.completed!.schema).toMatchObject({ enum: ['true', 'false'] })
    const id = ((doc.paths['/tasks/{id}']!.get as Json).parameters as Json[]).find((p) => p.in === 'path')
    expect(id).toMatchObject({
      name: 'id',
      required: true,
      schema: { type: 'string', format: 'uuid', pattern: expect.any(String) },
    })
  })

  it('describes the request bodies and their limits', async () => {
    const doc = await fetched()
    const input = doc.components.schemas.TaskInput as Json
    expect(input.required).toEqual(['title'])
    expect(input.additionalProperties).toBe(false)
    expect(input.properties.title).toMatchObject({ type: 'string', minLength: 1, maxLength: 200 })
    expect(input.properties.priority).toMatchObject({ enum: ['low', 'medium', 'high'], default: 'medium' })
    expect(input.properties.tags).toMatchObject({ maxItems: 10, items: { minLength: 1, maxLength: 32 } })
    expect(JSON.stringify(input.properties.dueAt)).toContain('date-time')
    expect(Object.keys(input.properties)).not.toContain('user_id')
    expect((doc.paths['/tasks/{id}']!.patch as Json).requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/TaskPatch',
    })
  })
})

describe('real responses match the documented schemas', () => {
  it('for tasks, pages, /me, /health and problems', async () => {
    const user = await signIn()
    const created = await user.request('/tasks', {
      method: 'POST',
      body: { title: 'Documented', tags: ['a'], dueAt: '2027-01-01T00:00:00Z' },
    })
    const task = model.task.parse(await created.json())
    model.task.parse(await (await user.request(`/tasks/${task.id}`)).json())
    model.task.parse(
      await (await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { completed: true } })).json(),
    )
    schemas.taskPage.parse(await (await user.request('/tasks?limit=1')).json())
    schemas.changesPage.parse(await (await user.request('/tasks/changes')).json())
    schemas.bulkDeleted.parse(await (await user.request('/tasks?completed=true', { method: 'DELETE' })).json())
    schemas.me.parse(await (await user.request('/me')).json())
    schemas.health.parse(await (await request('/health')).json())
    for (const res of [
      await request('/tasks'),
      await user.request('/tasks?limit=0'),
      await user.request(`/tasks/${crypto.randomUUID()}`),
    ]) {
      schemas.problem.parse(await res.json())
    }
  })
})
