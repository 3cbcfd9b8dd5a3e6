// Local configuration shared by `npm run dev` and `npm run token`, so both use the same secret.
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
