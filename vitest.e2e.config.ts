import { defineConfig } from 'vitest/config'

// End-to-end tests in Node (not workerd): they start `npm run dev` and a browser, and talk to the
// worker over HTTP. `npm run test:e2e`; see "End-to-end tests" in docs/testing.md.

// dev-server.e2e.ts starts and restarts servers of its own, while webhook.e2e.ts mostly waits for
// a retry (30 s): they share nothing but the CPU, and run side by side before the others.
const SIDE_BY_SIDE = ['test/e2e/dev-server.e2e.ts', 'test/e2e/webhook.e2e.ts']

export default defineConfig({
  test: {
    environment: 'node',
    // One `npm run dev` and one Chromium for every file but dev-server.e2e.ts.
    globalSetup: ['./test/e2e/global-setup.ts'],
    testTimeout: 30_000,
    // The first file to ask for the shared server waits for it to start (up to 120 s).
    hookTimeout: 150_000,
    projects: [
      {
        extends: true,
        test: { name: 'side-by-side', include: SIDE_BY_SIDE, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'one-at-a-time',
          include: ['test/e2e/**/*.e2e.ts'],
          exclude: SIDE_BY_SIDE,
          // They share that server, and some read its log since a test began; the browser tests
          // time what they see, so no wrangler dev starts beside them.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
