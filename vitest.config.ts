import path from 'node:path'
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { experimental_readRawConfig, unstable_readConfig } from 'wrangler'

type RateLimits = Record<string, { namespace_id: string; simple: { limit: number; period: 60 } }>

const RATE_LIMIT_TESTS = 'test/ratelimit.test.ts'

// `--mode fast` (npm run test:fast) is the inner loop: everything but the Better Auth interop tests,
// whose real servers the global set-up starts.
export default defineConfig(async ({ mode }) => {
  const fast = mode === 'fast'
  // The same migrations `wrangler d1 migrations apply` runs: tests never get a schema of their own.
  const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'))
  // wrangler.toml as wrangler reads it, at the top level and in each [env.<name>], for
  // test/config.test.ts (workerd has no TOML parser, and this is wrangler's own reading).
  const configPath = path.join(import.meta.dirname, 'wrangler.toml')
  const wrangler = (env?: string) => JSON.parse(JSON.stringify(unstable_readConfig({ config: configPath, env })))
  const environmentNames = Object.keys(experimental_readRawConfig({ config: configPath }).rawConfig.env ?? {})
  const wranglerConfig = {
    topLevel: wrangler(),
    environments: Object.fromEntries(environmentNames.map((name) => [name, wrangler(name)])),
  }
  // Every var is blank (its default, src/config.ts) unless set below, so that neither a developer's
  // .dev.vars nor a value in wrangler.toml changes what tests see.
  const blankVars = Object.fromEntries(Object.keys(wranglerConfig.topLevel.vars).map((name) => [name, '']))

  /** A workerd project over wrangler.toml; `ratelimits` adds or replaces rate-limit bindings by name. */
  const workers = (name: string, include: string[], exclude: string[], ratelimits: RateLimits) => ({
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          // Empty databases beside DB, for test/migrations/migrations.test.ts, sync-migration.test.ts and
          // rebuild.test.ts to migrate step by step, each its own, and for test/storage-day.test.ts,
          // which measures a database's size.
          d1Databases: {
            MIGRATIONS_DB: 'migrations-test',
            UPGRADE_DB: 'upgrade-test',
            MIGRATION_DB: 'sync-migration-test',
            REBUILD_DB: 'rebuild-migration-test',
            STORAGE_DAY_DB: 'storage-day-test',
          },
          ratelimits,
          bindings: {
            ...blankVars,
            TEST_MIGRATIONS: migrations,
            TEST_WRANGLER_CONFIG: wranglerConfig,
            // Secrets are not vars: each is fixed here.
            BETTER_AUTH_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
            // Push is off unless a test turns it on with its own key pair.
            VAPID_PRIVATE_KEY: '',
            // /mcp is on for the tests; the REST API takes access tokens only where a test says so.
            MCP_RESOURCE_URL: 'https://tasks.test/mcp',
            CORS_ORIGINS: 'http://localhost:3000, https://app.example.com',
            // Every request logs, so that tests can read any request's line; sampling has its own tests.
            REQUEST_LOG_SAMPLE_RATE: '1',
            // Events are logged; a webhook is on only where a test turns it on.
            WEBHOOK_SECRET: '',
            // Chat is off unless a test points it at its scripted model (test/chat/model.ts).
            CHAT_API_KEY: '',
          },
        },
      }),
    ],
    test: {
      name,
      include,
      exclude,
      setupFiles: ['./test/apply-migrations.ts'],
      // Files share each test worker, its modules and its storage (about two seconds of start-up
      // saved per file): no test may assume a database of its own or a hook registered by a
      // shared module (docs/testing.md).
      isolate: false,
    },
  })

  const unlimited = { limit: 1_000_000, period: 60 } as const
  return {
    test: {
      // The worker logs one line per request; show console output only for failing tests.
      silent: 'passed-only' as const,
      // A test worker per core, not Vitest's default of one fewer: most of a file's time is spent
      // waiting (sockets, token expiries, the Better Auth servers), not computing; on 2 cores the
      // suite takes about half as long with two (docs/testing.md).
      maxWorkers: '100%',
      // Real Better Auth servers, in Node, for the interoperability tests; a fake push service for the push tests.
      globalSetup: [...(fast ? [] : ['./test/better-auth/global-setup.ts']), './test/push/global-setup.ts'],
      projects: [
        // The suites send thousands of requests (and deliberate 401s) a minute: the limits are lifted.
        workers('workers', ['test/**/*.test.ts'], [RATE_LIMIT_TESTS, ...(fast ? ['test/better-auth.test.ts'] : [])], {
          USER_RATE_LIMITER: { namespace_id: '1001', simple: unlimited },
          AUTH_FAILURE_RATE_LIMITER: { namespace_id: '1002', simple: unlimited },
          CHAT_RATE_LIMITER: { namespace_id: '1003', simple: unlimited },
        }),
        // The shipped limits, exactly as wrangler.toml declares them, plus small test-only limiters
        // that the behaviour tests swap in so that each needs a handful of requests.
        workers('ratelimit', [RATE_LIMIT_TESTS], [], {
          TEST_FIVE_PER_MINUTE: { namespace_id: '9005', simple: { limit: 5, period: 60 } },
          TEST_THREE_PER_MINUTE: { namespace_id: '9003', simple: { limit: 3, period: 60 } },
        }),
      ],
    },
  }
})
