import path from 'node:path'
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

export default defineConfig(async () => {
  // The same migrations `wrangler d1 migrations apply` runs: tests never get a schema of their own.
  const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'))
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
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
            // The suites send thousands of requests (and deliberate 401s) a minute; the rate-limit
            // tests lower these per request. The quota stays at its production default.
            RATE_LIMIT_PER_MINUTE: '1000000',
            AUTH_FAILURES_PER_MINUTE: '1000000',
            TASK_QUOTA: '10000',
          },
        },
      }),
    ],
    test: {
      // The worker logs one line per request; show console output only for failing tests.
      silent: 'passed-only' as const,
      // Real Better Auth servers, in Node, for the interoperability tests.
      globalSetup: ['./test/better-auth/global-setup.ts'],
      setupFiles: ['./test/apply-migrations.ts', './test/figures.ts'],
    },
  }
})
