/// <reference types="vite/client" />
/**
 * The spec's design guarantees, checked on the source itself (bundled in by Vite at build time), so
 * that a later change cannot quietly move token handling or SQL to where it does not belong.
 */
import { describe, expect, it } from 'vitest'

const sources = import.meta.glob<string>(['../src/**/*.ts', '!../src/worker-configuration.d.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
})
const files = Object.entries(sources).map(([path, text]) => ({ path: path.replace('../', ''), text }))

/** Files whose code (comments stripped) matches `pattern`. */
const filesMatching = (pattern: RegExp) =>
  files.filter(({ text }) => pattern.test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''))).map((f) => f.path)

describe('design guarantees', () => {
  it('reads the source tree', () => {
    expect(files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['src/auth/index.ts', 'src/tasks/repo.ts', 'src/app.ts']),
    )
  })

  it('verifies tokens in exactly one module', () => {
    expect(filesMatching(/from 'hono\/jwt'|from 'hono\/jwk'|hono\/utils\/jwt\/jws|crypto\.subtle\.verify/)).toEqual([
      'src/auth/verify.ts',
    ])
  })

  it('reads the Authorization header in one place', () => {
    expect(filesMatching(/header\(\s*['"`]Authorization['"`]\s*\)|\.get\(\s*['"`]Authorization['"`]/i)).toEqual([
      'src/auth/bearer.ts',
    ])
  })

  it('sets the user in exactly one place, from the verified token', () => {
    expect(filesMatching(/c\.set\(\s*['"`](user|grant)['"`]/)).toEqual(['src/auth/middleware.ts'])
  })

  it('keeps the keys in one cache', () => {
    // The token keys; the webhook's signing key (src/events/webhook.ts) is no token's.
    const tokenKeys = filesMatching(/importKey\(\s*['"`]raw['"`][\s\S]*HMAC|new KeySet\(/).filter(
      (path) => path !== 'src/events/webhook.ts',
    )
    expect(tokenKeys).toEqual(['src/auth/keys.ts'])
  })

  it('keeps SQL in the repo modules, and auth out of them', () => {
    const sqlFiles = filesMatching(/\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b/)
    // The pattern sees the SQL of every repo module, so a statement elsewhere would be seen too.
    expect(sqlFiles).toEqual(
      expect.arrayContaining([
        'src/tasks/repo.ts',
        'src/tasks/list-repo.ts',
        'src/tasks/sync-repo.ts',
        'src/idempotency/repo.ts',
      ]),
    )
    expect(
      sqlFiles.every((path) => /^src\/([\w-]+\/)?([\w-]+-)?repo\.ts$/.test(path)),
      sqlFiles.join(', '),
    ).toBe(true)
    for (const path of sqlFiles) {
      const text = sources[`../${path}`]!
      expect(text, path).not.toMatch(/from '\.\.?\/(auth|ratelimit)(\/[\w-]+)?'|Authorization|c\.var\.user/)
    }
  })

  it('lets no door reach a repo module: every task operation goes through the task service', () => {
    // The doors: the REST API, the FastAPI-contract routes, MCP, the model tools, and chat.
    const door = /^src\/(tasks\/routes\.ts|compat\/|mcp\/|tools\/|chat\/)/
    const doors = files.filter(({ path }) => door.test(path))
    expect(doors.map((f) => f.path)).toEqual(expect.arrayContaining(['src/tasks/routes.ts', 'src/compat/routes.ts']))
    const reachRepo = /from '[./\w-]*\/([\w-]+-)?repo'/
    expect(doors.filter(({ text }) => reachRepo.test(text)).map((f) => f.path)).toEqual([])
    // And the service is what they call.
    for (const path of ['src/tasks/routes.ts', 'src/compat/routes.ts', 'src/mcp/tools.ts']) {
      expect(sources[`../${path}`], path).toMatch(/from '\.\.?\/(tasks\/)?service'/)
    }
  })

  it('builds every response through src/respond.ts, with the common headers in one constructor', () => {
    // The CORS preflight alone answers before any route, with headers of its own.
    expect(filesMatching(/\bc\.(json|body|text|html)\(/)).toEqual(['src/cors.ts'])
  })

  it('never reads a user id from a request body, query or header', () => {
    expect(
      filesMatching(/(valid\('(json|query|header)'\)|req\.(query|header|json)\([^)]*\))\s*\.?\s*(user_?id|userId)/i),
    ).toEqual([])
    expect(filesMatching(/c\.req\.(query|param|header)\('user_?id'\)/i)).toEqual([])
  })
})
