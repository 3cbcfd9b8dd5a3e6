// Local set-up shared by `npm run dev`, the [build] step's dev half (dev-prepare.mjs) and
// `npm run token`: one .dev.vars, so all use the same secret, and one way to migrate the local D1.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'

export const root = fileURLToPath(new URL('..', import.meta.url))
const devVarsPath = `${root}.dev.vars`
const examplePath = `${root}.dev.vars.example`

/** Creates .dev.vars from the example, with a freshly generated secret, when it is missing; returns its variables. */
export function ensureDevVars() {
  if (!existsSync(devVarsPath)) {
    copyFileSync(examplePath, devVarsPath)
    const secret = randomBytes(32).toString('base64url')
    const text = readFileSync(devVarsPath, 'utf8').replace(/^BETTER_AUTH_SECRET=.*$/m, `BETTER_AUTH_SECRET=${secret}`)
    writeFileSync(devVarsPath, text, { mode: 0o600 })
    console.error('Created .dev.vars with a new BETTER_AUTH_SECRET.')
  }
  return parseEnv(readFileSync(devVarsPath, 'utf8'))
}

/** The local wrangler, run on this Node. */
export const wrangler = `${root}node_modules/wrangler/bin/wrangler.js`

/**
 * Applies migrations/ to the local D1 (`args`: the `--persist-to` and `--env` wrangler dev will
 * use), printing wrangler's output; its exit status.
 */
export function migrateLocal(args = [], env = process.env) {
  const migrate = spawnSync(process.execPath, [wrangler, 'd1', 'migrations', 'apply', 'DB', '--local', ...args], {
    cwd: root,
    stdio: 'inherit',
    env,
  })
  return migrate.status ?? 1
}
