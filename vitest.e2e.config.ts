import { defineConfig } from 'vitest/config'

// End-to-end tests in Node (not workerd): they start `npm run dev` and a browser, and talk to the
// worker over HTTP. `npm run test:e2e`; see "End-to-end tests" in docs/testing.md.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    environment: 'node',
    // Each file starts its own wrangler dev; one at a time keeps a 2-core machine responsive.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
})
