/// <reference types="vite/client" />
/**
 * What README.md and docs/ name is what the app serves: every `METHOD /path` and every path of this
 * worker in backticks is one of the app's routes, every `/problems/<slug>` is in the catalogue, and
 * every "<status> <problem slug>" pairs the slug with its own status.
 */
import { describe, expect, it } from 'vitest'
import { app } from '../../src/app'
import { PROBLEM_TYPES, type ProblemSlug } from '../../src/problem'

const texts = import.meta.glob<string>(['../../README.md', '../../docs/*.md'], {
  query: '?raw',
  import: 'default',
  eager: true,
})
const docs = Object.entries(texts).map(([path, text]) => ({ path: path.replace('../../', ''), text }))

/** Paths that are not this worker's routes: Better Auth's, the dev server's, the static /docs page, the bench's. */
const ELSEWHERE = [
  /^\/api\/auth(\/|$)/,
  /^\/(admin\/)?oauth2\//,
  /^\/cdn-cgi(\/|…|$)/,
  /^\/__scheduled$/,
  /^\/__bench\//,
  /^\/docs(\/|\.html)?$/,
  /^\/proc$/,
  /^\/$/,
]

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const

/** A path as docs and routes both spell it: parameters as {}, no query, no trailing slash or ellipsis. */
const normal = (path: string) =>
  path
    .replace(/[?#].*$/, '')
    .replace(/…$/, '')
    .replace(/\{[^}]*\}|<[^>]*>|:[A-Za-z_]\w*(\{[^}]*\})?/g, '{}')
    .replace(/(.)\/$/, '$1')

const handlers = app.routes.filter((route) => !route.path.includes('*'))
/**
 * A path without a method: a route, or the prefix of routes (`/api`). With one: a route for that
 * method, or only routes for any method there (those that dispatch by themselves, as /mcp does).
 */
function served(method: string | undefined, path: string): boolean {
  const here = handlers.filter((route) => normal(route.path) === path)
  if (method === undefined) return here.length > 0 || handlers.some((route) => route.path.startsWith(`${path}/`))
  const explicit = here.filter((route) => route.method !== 'ALL')
  if (explicit.length === 0) return here.length > 0
  return explicit.some((route) => route.method === method || (method === 'HEAD' && route.method === 'GET'))
}

function* mentions() {
  const pattern = new RegExp(`\`(?:(${METHODS.join('|')}) )?(/[^\`\\s,]*)[^\`]*\``, 'g')
  for (const { path: file, text } of docs) {
    for (const match of text.matchAll(pattern)) {
      const [, method, raw] = match
      yield { file, method, raw: raw!, path: normal(raw!) }
    }
  }
}

describe('the docs name only what the app serves', () => {
  it('reads README.md and docs/', () => {
    expect(docs.map((d) => d.path)).toEqual(expect.arrayContaining(['README.md', 'docs/api.md']))
    expect([...mentions()].length).toBeGreaterThan(50)
  })

  it('names only routes the app has, with their methods', () => {
    const missing = [...mentions()]
      .filter(({ raw }) => !raw.startsWith('/problems/') && !ELSEWHERE.some((pattern) => pattern.test(normal(raw))))
      .filter(({ method, path }) => !served(method, path))
      .map(({ file, method, raw }) => `${file}: ${method ? `${method} ` : ''}${raw}`)
    expect(missing).toEqual([])
  })

  it('names only problem types of the catalogue, each with its own status', () => {
    const unknown: string[] = []
    for (const { file, raw } of mentions()) {
      const slug = /^\/problems\/([a-z-]+)$/.exec(raw)?.[1]
      if (raw.startsWith('/problems/') && !(slug && slug in PROBLEM_TYPES)) unknown.push(`${file}: ${raw}`)
    }
    expect(unknown).toEqual([])
    const wrong: string[] = []
    for (const { path: file, text } of docs) {
      for (const [, status, slug] of text.matchAll(/\b([1-5]\d\d) `?([a-z]+(?:-[a-z]+)+)`?/g)) {
        const entry = PROBLEM_TYPES[slug as ProblemSlug]
        if (entry && entry.status !== Number(status)) wrong.push(`${file}: ${status} ${slug} (is ${entry.status})`)
      }
    }
    expect(wrong).toEqual([])
  })
})

// Keys only (nothing is loaded): every file under test/, named from the project's root; a glob
// leaves out the file it is in.
const testFiles = new Set(Object.keys(import.meta.glob('/test/**/*.ts')).map((path) => path.slice(1)))
testFiles.add('test/docs/routes-named.test.ts')

describe('the docs name only test files that exist', () => {
  it('finds every test/... file a doc names', () => {
    expect(testFiles.has('test/tasks/routes.test.ts')).toBe(true)
    const missing: string[] = []
    for (const { path: file, text } of docs) {
      for (const [name] of text.matchAll(/\btest\/[\w/.-]+\.ts\b/g))
        if (!testFiles.has(name)) missing.push(`${file}: ${name}`)
    }
    expect(missing).toEqual([])
  })
})
