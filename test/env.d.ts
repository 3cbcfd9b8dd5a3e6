declare namespace Cloudflare {
  interface Env {
    /** Set in vitest.config.ts from migrations/. */
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[]
    /** wrangler.toml as wrangler reads it: the top level and each [env.<name>] (vitest.config.ts). */
    TEST_WRANGLER_CONFIG: unknown
    /** An empty database that test/migrations/sync-migration.test.ts migrates step by step (vitest.config.ts). */
    MIGRATION_DB: D1Database
    /** An empty database (vitest.config.ts) that test/migrations/migrations.test.ts migrates step by step. */
    MIGRATIONS_DB: D1Database
    /** An empty database (vitest.config.ts) that test/migrations/migrations.test.ts fills, then migrates and times. */
    UPGRADE_DB: D1Database
    /** An empty database that test/migrations/rebuild.test.ts migrates step by step (vitest.config.ts). */
    REBUILD_DB: D1Database
    /** An empty database that test/storage-day.test.ts fills and measures alone (vitest.config.ts). */
    STORAGE_DAY_DB: D1Database
    /** Small limiters the rate-limit tests swap in (vitest.config.ts, the `ratelimit` project only). */
    TEST_FIVE_PER_MINUTE: RateLimit
    TEST_THREE_PER_MINUTE: RateLimit
  }
}
