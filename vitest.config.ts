import path from 'node:path'
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

type RateLimits = Record<string, { namespace_id: string; simple: { limit: number; period: 60 } }>

const RATE_LIMIT_TESTS = 'test/ratelimit.test.ts'

// `--mode fast` (npm run test:fast) is the inner loop: everything but the Better Auth interop tests,
// whose real servers the global set-up starts.
export default defineConfig(async ({ mode }) => {
  const fast = mode === 'fast'
  // The same migrations `wrangler d1 migrations apply` runs: tests never get a schema of their own.
  const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'))

  /** A workerd project over wrangler.toml; `ratelimits` adds or replaces rate-limit bindings by name. */
  const workers = (name: string, include: string[], exclude: string[], ratelimits: RateLimits) => ({
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          // Empty databases beside DB, for test/migrations/migrations.test.ts, sync-migration.test.ts and
          // rebuild.test.ts to migrate step by step, each its own.
          d1Databases: {
            MIGRATIONS_DB: 'migrations-test',
            MIGRATION_DB: 'sync-migration-test',
            REBUILD_DB: 'rebuild-migration-test',
          },
          ratelimits,
          // Every setting is fixed here, so that a developer's .dev.vars cannot change what tests see.
          bindings: {
            TEST_MIGRATIONS: migrations,
            BETTER_AUTH_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
            BETTER_AUTH_URL: '',
            JWKS_URL: '',
            JWT_ISSUER: '',
            JWT_AUDIENCE: '',
            JWT_CLOCK_SKEW_SECONDS: '60',
            // /mcp is on for the tests; the REST API takes access tokens only where a test says so.
            MCP_RESOURCE_URL: 'https://tasks.test/mcp',
            API_RESOURCE_URL: '',
            OAUTH_ISSUER: '',
            CORS_ORIGINS: 'http://localhost:3000, https://app.example.com',
            // The quota stays at its production default.
            TASK_QUOTA: '10000',
            // Every request logs, so that tests can read any request's line; sampling has its own tests.
            REQUEST_LOG_SAMPLE_RATE: '1',
            API_LIST_FORMAT: 'array',
            // Push is off unless a test turns it on with its own key pair.
            VAPID_PRIVATE_KEY: '',
            VAPID_SUBJECT: '',
            PUSH_SERVICE_HOSTS: '',
            // Chat is off unless a test points it at its scripted model (test/chat/model.ts).
            CHAT_API_BASE_URL: '',
            CHAT_MODEL: '',
            CHAT_API_KEY: '',
            CHAT_MAX_MODEL_CALLS: '5',
            CHAT_TIMEOUT_SECONDS: '30',
          },
        },
      }),
    ],
    test: {
      name,
      include,
      exclude,
      setupFiles: ['./test/apply-migrations.ts'],
    },
  })

  const unlimited = { limit: 1_000_000, period: 60 } as const
  return {
    test: {
      // The worker logs one line per request; show console output only for failing tests.
      silent: 'passed-only' as const,
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
