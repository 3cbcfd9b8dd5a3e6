declare namespace Cloudflare {
  interface Env {
    /** Set in vitest.config.ts from migrations/. */
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[]
  }
  /** Types `exports.default` from cloudflare:workers as our worker. */
  interface GlobalProps {
    mainModule: typeof import('../src/index')
  }
}
