import { accessSync, constants } from 'node:fs'
import path from 'node:path'

const INSTALL_HINT = 'install it (Debian/Ubuntu: apt-get install --no-install-recommends chromium) or set CHROMIUM_PATH'

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The system Chromium: CHROMIUM_PATH, else `chromium` or `chromium-browser` on PATH. Never one
 * downloaded by Playwright: nothing here may fetch a browser. Without one the browser tests are
 * skipped with a message, except in CI (CI set), where that is an error.
 */
export function systemChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH
  if (fromEnv) {
    if (executable(fromEnv)) return fromEnv
    throw new Error(`CHROMIUM_PATH=${fromEnv} is not an executable file`)
  }
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)
  const found = ['chromium', 'chromium-browser']
    .flatMap((name) => dirs.map((dir) => path.join(dir, name)))
    .find(executable)
  if (found) return found
  const ci = process.env.CI ?? ''
  if (ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false')
    throw new Error(`CI is set and the browser tests need Chromium: ${INSTALL_HINT}.`)
  console.warn(`\nSkipping the browser tests: no Chromium found. To run them, ${INSTALL_HINT}.\n`)
  return undefined
}

/** How every e2e Chromium runs: headless, and without the sandbox, so that it also runs as root in containers. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-background-networking']
