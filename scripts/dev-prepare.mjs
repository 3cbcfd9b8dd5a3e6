// The second half of wrangler.toml's [build] step, for `wrangler dev` only (wrangler sets
// WRANGLER_COMMAND=dev in the environment of a build it runs for dev; deploy and types builds skip
// this): what `npm run dev` does before it starts wrangler dev, so that `npx wrangler dev` typed in a
// fresh clone serves the API too. It creates .dev.vars with a fresh secret when the file is missing
// (wrangler reads it after the build), and applies migrations/ to the local D1 in .wrangler/state.
// `npm run dev` has done both, for its own --persist-to and --env, and says so (TASKS_DEV_PREPARED).
// Runs on the `node` on PATH, as the rest of the build: Node 20 will do.
import { ensureDevVars, migrateLocal } from './dev-vars.mjs'

if (process.env.WRANGLER_COMMAND === 'dev' && process.env.TASKS_DEV_PREPARED !== '1') {
  ensureDevVars()
  // The API never reads request.cf; without this, wrangler tries to download it from Cloudflare.
  const status = migrateLocal([], { CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...process.env })
  if (status !== 0) process.exit(status)
}
