// Local configuration shared by `npm run dev` and `npm run token`, so both use the same secret.
import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))
const devVarsPath = `${root}.dev.vars`
const examplePath = `${root}.dev.vars.example`

/** Minimal dotenv: KEY=value lines, optional quotes, # comments. */
export function parseDotenv(text) {
  const vars = {}
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line)
    if (!match || line.trimStart().startsWith('#')) continue
    vars[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2')
  }
  return vars
}

/** Creates .dev.vars from the example, with a freshly generated secret, when it is missing. */
export function ensureDevVars() {
  if (!existsSync(devVarsPath)) {
    copyFileSync(examplePath, devVarsPath)
    const secret = randomBytes(32).toString('base64url')
    const text = readFileSync(devVarsPath, 'utf8').replace(/^BETTER_AUTH_SECRET=.*$/m, `BETTER_AUTH_SECRET=${secret}`)
    writeFileSync(devVarsPath, text, { mode: 0o600 })
    console.error('Created .dev.vars with a new BETTER_AUTH_SECRET.')
  }
  return parseDotenv(readFileSync(devVarsPath, 'utf8'))
}
