/// <reference types="vite/client" />
/**
 * One list of settings (src/config.ts) and the files that must name the same ones: wrangler.toml's
 * `[vars]` and every `[env.<name>]` (wrangler inherits neither vars nor binding blocks into an
 * environment), README.md's configuration table, and .dev.vars.example. wrangler.toml is read by
 * wrangler itself, in vitest.config.ts; the other files are bundled in by Vite.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import devVarsExample from '../.dev.vars.example?raw'
import readme from '../README.md?raw'
import { envSchema, getConfig, type SettingKind } from '../src/config'

type WranglerConfig = Record<string, unknown> & { vars: Record<string, unknown> }

const { topLevel, environments } = env.TEST_WRANGLER_CONFIG as {
  topLevel: WranglerConfig
  environments: Record<string, WranglerConfig>
}

const settings = Object.entries(envSchema.shape).map(([name, schema]) => {
  const { kind, description } = schema.meta() as { kind: SettingKind; description: string }
  return { name, kind, description }
})
const named = (kind: SettingKind) => settings.filter((s) => s.kind === kind).map((s) => s.name)
const sorted = (names: Iterable<string>) => [...new Set(names)].sort()

/**
 * What a block of the wrangler configuration declares, by name: the keys of `vars`, and the
 * `binding` (or `name`, or `queue`) of each entry of a binding block such as [[ratelimits]],
 * [[d1_databases]] or [[durable_objects.bindings]], prefixed with where it sits.
 */
function declared(value: unknown, where: string): string[] {
  if (Array.isArray(value)) {
    return value.map((item) => {
      const entry = item as Record<string, unknown> | null
      const name = typeof entry === 'object' && entry !== null ? (entry.binding ?? entry.name ?? entry.queue) : entry
      return `${where}: ${typeof name === 'string' ? name : JSON.stringify(item)}`
    })
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, inner]) =>
      typeof inner === 'object' && inner !== null ? declared(inner, `${where}.${key}`) : [`${where}.${key}`],
    )
  }
  return []
}

/** The names of the bindings in a block: each entry of an array with a `binding` or a `name`, at any depth. */
function bindingNames(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      const name = typeof item === 'object' && item !== null ? (item.binding ?? item.name) : undefined
      return typeof name === 'string' ? [name] : []
    })
  }
  return typeof value === 'object' && value !== null ? Object.values(value).flatMap(bindingNames) : []
}

/** The bindings wrangler.toml's top level declares: DB, the rate limiters, and whatever comes later. */
const topLevelBindings = sorted(
  Object.entries(topLevel).flatMap(([key, block]) => (key === 'vars' ? [] : bindingNames(block))),
)

/** The rows of README.md's table under "## Configuration": name and kind. */
function readmeRows(): { name: string; kind: string }[] {
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? ''
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` +\| ([^|]+?) +\|/gm)].map(([, name, kind]) => ({
    name: name!,
    kind: kind!,
  }))
}

describe('the list of settings (src/config.ts)', () => {
  it('gives every setting its kind and a one-line description', () => {
    expect(settings.length).toBeGreaterThan(15)
    for (const { name, kind, description } of settings) {
      expect(['var', 'secret', 'binding'], name).toContain(kind)
      expect(description, name).toMatch(/^[^\n]{10,120}\.$/)
    }
  })

  it('names the same vars as [vars] in wrangler.toml, and every secret is not a var', () => {
    expect(sorted(Object.keys(topLevel.vars))).toEqual(sorted(named('var')))
  })

  it('names only bindings that wrangler.toml declares', () => {
    expect(topLevelBindings).toEqual(expect.arrayContaining(named('binding')))
  })

  it('is fixed for the tests: every var and secret has a value here (vitest.config.ts)', () => {
    for (const name of [...named('var'), ...named('secret')]) {
      expect(typeof (env as unknown as Record<string, unknown>)[name], name).toBe('string')
    }
  })
})

describe('wrangler.toml', () => {
  it('has environments to check', () => {
    expect(Object.keys(environments)).toContain('loadtest')
  })

  for (const [name, environment] of Object.entries(environments)) {
    it(`restates every var in [env.${name}.vars]: wrangler does not inherit them`, () => {
      expect(sorted(Object.keys(environment.vars))).toEqual(sorted(Object.keys(topLevel.vars)))
    })

    it(`restates every binding block under [env.${name}]: wrangler does not inherit them`, () => {
      const blocks = Object.keys(topLevel).filter((key) => key !== 'vars' && Array.isArray(topLevel[key]))
      expect(blocks).toEqual(expect.arrayContaining(['d1_databases', 'ratelimits']))
      for (const key of Object.keys(topLevel).filter((key) => key !== 'vars')) {
        expect(sorted(declared(environment[key], key)), key).toEqual(sorted(declared(topLevel[key], key)))
      }
    })
  }

  const secrets = { BETTER_AUTH_SECRET: 's'.repeat(32) }
  const bindings = {
    USER_RATE_LIMITER: env.USER_RATE_LIMITER,
    AUTH_FAILURE_RATE_LIMITER: env.AUTH_FAILURE_RATE_LIMITER,
  }
  for (const [name, config] of [['the top level', topLevel] as const, ...Object.entries(environments)]) {
    it(`makes a working configuration, with a secret, from the vars of ${name}`, () => {
      const parts = getConfig({ ...config.vars, ...secrets, ...bindings } as unknown as Env)
      for (const part of [parts.auth, parts.oauth, parts.limits, parts.listFormat]) {
        expect(part).not.toHaveProperty('error')
      }
    })
  }
})

describe("README.md's configuration table", () => {
  it('lists every setting and every binding of wrangler.toml, once, with its kind', () => {
    const rows = readmeRows()
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length)
    expect(sorted(rows.map((r) => r.name))).toEqual(sorted([...settings.map((s) => s.name), ...topLevelBindings]))
    const kinds = { var: /^var$/, secret: /^\*\*secret\*\*$/, binding: /binding$/ }
    for (const { name, kind } of settings) {
      expect(rows.find((r) => r.name === name)?.kind, name).toMatch(kinds[kind])
    }
  })
})

describe('.dev.vars.example', () => {
  const lines = [...devVarsExample.matchAll(/^(#\s*)?([A-Z][A-Z0-9_]*)=/gm)]

  it('names only settings, and each secret, so that `npm run cf-typegen` types it', () => {
    expect(lines.length).toBeGreaterThan(0)
    for (const [, , name] of lines) expect([...named('var'), ...named('secret')]).toContain(name)
    const set = lines.filter(([, comment]) => comment === undefined).map(([, , name]) => name)
    expect(set).toEqual(expect.arrayContaining(named('secret')))
  })
})

describe('parsing', () => {
  const bindings = {
    USER_RATE_LIMITER: env.USER_RATE_LIMITER,
    AUTH_FAILURE_RATE_LIMITER: env.AUTH_FAILURE_RATE_LIMITER,
  }
  const secret = 's'.repeat(32)
  /** The limits, without the bindings (RPC stubs, which cannot be compared or printed). */
  const numbers = (limits: object) =>
    'error' in limits ? limits : Object.fromEntries(Object.entries(limits).filter(([, v]) => typeof v === 'number'))

  it('takes the default for every var that is absent, not only blank', () => {
    const config = getConfig({ BETTER_AUTH_SECRET: secret, ...bindings } as unknown as Env)
    expect(config.auth).toMatchObject({ secret, jwksUrl: undefined, clockSkewSeconds: 60 })
    expect(config.oauth).toEqual({
      mcpResource: undefined,
      mcpMetadataUrl: undefined,
      apiResource: undefined,
      issuer: undefined,
    })
    expect(config.limits).toMatchObject({
      taskQuota: 10_000,
      idempotencyKeysPerUser: 10_000,
      tombstonesPerUser: 10_000,
    })
    expect(config.listFormat).toBe('array')
    expect(config.logSampleRate).toBe(0.01)
    expect(config.corsOrigins).toEqual(new Set())
  })

  it('reads a var that wrangler.toml gives as a number as its text, and refuses a table', () => {
    const number = getConfig({ BETTER_AUTH_SECRET: secret, ...bindings, TASK_QUOTA: 7 } as unknown as Env)
    expect(numbers(number.limits)).toEqual({
      taskQuota: 7,
      idempotencyKeysPerUser: 7,
      tombstonesPerUser: 7,
      liveSocketsPerUser: 20,
    })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const table = getConfig({ BETTER_AUTH_SECRET: secret, ...bindings, TASK_QUOTA: { quota: 7 } } as unknown as Env)
    expect(numbers(table.limits)).toEqual({ error: 'TASK_QUOTA must be a whole number from 1 to 1000000' })
    expect(table.auth).not.toHaveProperty('error')
    error.mockRestore()
  })
})
