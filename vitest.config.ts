import path from 'node:path'
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

// wrangler.toml declares BETTER_AUTH_SECRET a required secret and reads required secrets from
// process.env; this fixed value is the one the test helpers sign with (via env).
process.env.BETTER_AUTH_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789'

export default defineConfig(async () => {
  // The same migrations `wrangler d1 migrations apply` runs: tests never get a schema of their own.
  const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'))
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            CORS_ORIGINS: 'http://localhost:3000, https://app.example.com',
          },
        },
      }),
    ],
    test: {
      setupFiles: ['./test/apply-migrations.ts'],
    },
  }
})
