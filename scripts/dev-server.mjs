// Starts `npm run dev` (scripts/dev.mjs: migrations, then `wrangler dev`) on free loopback ports,
// for the end-to-end tests in test/e2e/. Its state lives in `persistTo` and its configuration
// comes only from `envFile`: a developer's .wrangler/state and .dev.vars are never read (npm run
// dev still creates .dev.vars when it is missing), and parallel runs never share a port.
import { spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { root } from './dev-vars.mjs'

const READY = /Ready on (http:\/\/\S+)/
// Process groups started and not stopped yet. A detached group gets no Ctrl-C from the terminal and
// outlives its parent, so they are killed outright if this process exits or is signalled first.
const running = new Set()
let cleanupInstalled = false

function installCleanup() {
  if (cleanupInstalled) return
  cleanupInstalled = true
  const killAll = () => {
    for (const pid of running) killGroup(pid, 'SIGKILL')
  }
  process.once('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      killAll()
      // Once handlers are gone, the signal's default action (or another listener) ends the process.
      process.kill(process.pid, signal)
    })
  }
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: the group is gone already.
  }
}

const groupAlive = (pid) => {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

/** Writes `vars` as a dotenv file, the form `wrangler dev --env-file` reads. */
export function writeEnvFile(file, vars) {
  writeFileSync(
    file,
    Object.entries(vars)
      .map(([key, value]) => `${key}=${value}\n`)
      .join(''),
    { mode: 0o600 },
  )
  return file
}

/**
 * Resolves once the worker answers, with its base URL; rejects (after stopping everything) when
 * it does not within `timeoutMs`. `stop()` is Ctrl-C for the whole process group, then SIGKILL
 * for whatever is still there after `graceMs`. `extraArgs` go to `npm run dev` (e.g. `--test-scheduled`).
 */
export function startDevServer({
  persistTo,
  envFile,
  extraArgs = /** @type {string[]} */ ([]),
  timeoutMs = 60_000,
  graceMs = 5_000,
}) {
  const args = ['--ip', '127.0.0.1', '--port', '0', '--inspector-port', '0', '--persist-to', persistTo]
  args.push('--env-file', envFile, '--show-interactive-dev-session=false', ...extraArgs)
  return startGroup('npm run dev', [path.join(root, 'scripts/dev.mjs'), ...args], root, timeoutMs, graceMs)
}

/**
 * `npx wrangler dev` as a newcomer types it, in the checkout at `cwd` with its own .dev.vars and
 * .wrangler/state, on free loopback ports; as startDevServer.
 */
export function startPlainWranglerDev({ cwd, timeoutMs = 120_000, graceMs = 5_000 }) {
  const wrangler = path.join(cwd, 'node_modules/wrangler/bin/wrangler.js')
  const args = [
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    '0',
    '--inspector-port',
    '0',
    '--show-interactive-dev-session=false',
  ]
  return startGroup('wrangler dev', [wrangler, ...args], cwd, timeoutMs, graceMs)
}

/** Runs `args` on this Node in a process group of its own, in `cwd`, until wrangler dev is ready. */
async function startGroup(name, args, cwd, timeoutMs, graceMs) {
  // A group of its own, so that stop() reaches wrangler, esbuild and both workerd processes.
  const child = spawn(process.execPath, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  installCleanup()
  running.add(child.pid)
  let output = ''
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const server = {
    url: '',
    output: () => output,
    async stop() {
      if (!running.has(child.pid)) return
      killGroup(child.pid, 'SIGINT')
      const deadline = Date.now() + graceMs
      while (groupAlive(child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      killGroup(child.pid, 'SIGKILL')
      running.delete(child.pid)
      await exited
    },
  }

  try {
    server.url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`wrangler dev was not ready after ${timeoutMs} ms`)), timeoutMs)
      const onData = (chunk) => {
        output += chunk
        const match = READY.exec(output)
        if (match) {
          clearTimeout(timer)
          resolve(match[1])
        }
      }
      child.stdout.setEncoding('utf8').on('data', onData)
      child.stderr.setEncoding('utf8').on('data', onData)
      exited.then((code) => {
        clearTimeout(timer)
        reject(new Error(`${name} exited with ${code} before it was ready`))
      })
    })
  } catch (error) {
    await server.stop()
    error.message += `\n--- ${name} output ---\n${output}`
    throw error
  }
  return server
}

/** A token from `npm run token` (scripts/token.mjs), signed with `secret` and no iss/aud. */
export function devToken(sub, secret) {
  const result = spawnSync(
    process.execPath,
    [path.join(root, 'scripts/token.mjs'), sub, '--email', `${sub}@example.com`],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, BETTER_AUTH_SECRET: secret, JWT_ISSUER: '', JWT_AUDIENCE: '' },
    },
  )
  if (result.status !== 0) throw new Error(`npm run token failed: ${result.stderr}`)
  return result.stdout.trim()
}
