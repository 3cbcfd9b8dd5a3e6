// How the bench serves a worker, shared by bench/run.mjs, bench/peer.mjs and the peer budget
// (test/perf/peer-budget.mjs): bundled by `wrangler deploy --dry-run` as a deploy bundles it, then
// run in workerd through Miniflare's API on workerd's own socket (no dev proxy, no Miniflare entry
// worker), with workerd's CPU read from /proc.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'

export const root = path.resolve(import.meta.dirname, '..')

const wrangler = path.join(root, 'node_modules/wrangler/bin/wrangler.js')
// Quiet and offline: no request.cf download, no telemetry.
const wranglerEnv = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' }

/** Wrangler's warnings go to stderr; `quiet` keeps them for the error it throws if it fails. */
export const runWrangler = (args, { quiet = false } = {}) =>
  execFileSync(process.execPath, [wrangler, ...args], {
    cwd: root,
    env: wranglerEnv,
    stdio: ['ignore', 'ignore', quiet ? 'pipe' : 'inherit'],
  })

/** `wrangler deploy --dry-run` with `args` into `outdir`; the bundle's script and module root. */
export function build(outdir, args, options) {
  runWrangler(['deploy', ...args, '--dry-run', '--outdir', outdir], options)
  const script = readdirSync(outdir).find((f) => f.endsWith('.js'))
  return { scriptPath: path.join(outdir, script), modulesRoot: outdir }
}

/**
 * The bundle in its own workerd, with the config's compatibility settings and `options` (bindings,
 * D1, persistence) on top; where it listens.
 */
export async function serve(bundle, config, options) {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      ...bundle,
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      // workerd still writes each log line; the bench does not print them.
      handleStructuredLogs: () => {},
      // Straight into the worker, skipping Miniflare's entry worker: the closest to bare workerd.
      unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
      // Each write pokes its user's object, as in production; with no socket open it answers at once.
      ...(config.durable_objects && {
        durableObjects: Object.fromEntries(
          config.durable_objects.bindings.map((b) => [b.name, { className: b.class_name, useSQLite: true }]),
        ),
      }),
      ...options,
    }),
  )
  try {
    await mf.ready
    return { mf, base: (await mf.unsafeGetDirectURL()).origin }
  } catch (error) {
    await mf.dispose()
    throw error
  }
}

/** The workerd processes this process started (Linux /proc; none elsewhere). */
function workerdPids() {
  let pids
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return []
  }
  return pids.filter((pid) => {
    const stat = readStat(`/proc/${pid}/stat`)
    return stat?.comm === 'workerd' && Number(stat.fields[1]) === process.pid
  })
}

/** "pid (comm) state ppid … utime stime …", split after comm; undefined if it exited meanwhile. */
function readStat(file) {
  let stat
  try {
    stat = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  return {
    comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    fields: stat.slice(stat.lastIndexOf(')') + 2).split(' '),
  }
}

/**
 * CPU seconds used so far by the workerd processes this process started (Linux /proc; 0 elsewhere),
 * in clock ticks of 10 ms. Unlike req/s it barely moves when other processes compete for the cores,
 * so it is the steadier measure of what an endpoint costs. It includes local D1, which runs in the
 * same process.
 */
export function workerdCpu() {
  const TICKS_PER_SECOND = 100 // USER_HZ
  let ticks = 0
  for (const pid of workerdPids()) {
    const stat = readStat(`/proc/${pid}/stat`)
    // utime and stime are the 12th and 13th fields after comm.
    if (stat) ticks += Number(stat.fields[11]) + Number(stat.fields[12])
  }
  return ticks / TICKS_PER_SECOND
}

/**
 * The same in nanoseconds, from the scheduler's count for each thread (`/proc/<pid>/task/<tid>/schedstat`):
 * fine enough for loops of a few milliseconds. 0 where the kernel does not provide it.
 */
export function workerdCpuNanos() {
  let nanos = 0
  for (const pid of workerdPids()) {
    let threads
    try {
      threads = readdirSync(`/proc/${pid}/task`)
    } catch {
      continue
    }
    for (const tid of threads) {
      try {
        nanos += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      } catch {
        // exited meanwhile
      }
    }
  }
  return nanos
}
