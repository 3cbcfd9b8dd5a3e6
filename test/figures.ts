/**
 * Setup file: records on every test how many requests it sent through the helpers and how many
 * got a 5xx, as test metadata. `npm run figures` (scripts/security-figures.mjs) adds them up.
 */
import { afterEach, beforeEach } from 'vitest'
import { tally } from './helpers'

declare module 'vitest' {
  interface TaskMeta {
    requests?: number
    serverErrors?: number
    /** fast-check runs of a property test. */
    runs?: number
  }
}

let before = { ...tally }
beforeEach(() => {
  before = { ...tally }
})
afterEach(({ task }) => {
  task.meta.requests = tally.requests - before.requests
  task.meta.serverErrors = tally.serverErrors - before.serverErrors
})
