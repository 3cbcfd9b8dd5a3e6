import { defineConfig } from 'vitest/config'

// End-to-end tests in Node (not workerd): they start `npm run dev` and a browser, and talk to the
// worker over HTTP. `npm run test:e2e`; see "End-to-end tests" in docs/testing.md.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    environment: 'node',
    // One `npm run dev` and one Chromium for every file but dev-server.e2e.ts.
    globalSetup: ['./test/e2e/global-setup.ts'],
    // One file at a time: the files share that server and its relays, and some read its log since a
    // test began; and a 2-core machine stays responsive.
    fileParallelism: false,
    testTimeout: 30_000,
    // The first file to ask for the shared server waits for it to start (up to 120 s).
    hookTimeout: 150_000,
  },
})
