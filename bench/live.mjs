// `npm run bench:live`: what live updates cost (docs/live.md). The production worker (src/index.ts,
// bundled as `wrangler deploy` bundles it) in workerd through Miniflare, with a migrated local D1 and
// the `loadtest` environment's limits. Prints:
//   - a create's latency (p50, p99) and workerd's CPU per create (its poke included) for a user with
//     no socket open, and with `--listeners` open, and how long after each response every one of
//     those sockets had heard of it;
//   - workerd's memory and CPU with `--sockets` idle sockets open (spread over users, each at most
//     LIVE_SOCKETS_PER_USER), measured over `--idle` seconds in which nothing is sent.
// Heavy with the defaults: on a shared machine, try `--writes 20 --sockets 50 --idle 2` first.
//
//   npm run bench:live -- [--writes 200] [--listeners 20] [--sockets 1000] [--per-user 20] [--idle 10]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { sign } from 'hono/jwt'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'
import { unstable_readConfig } from 'wrangler'

const root = path.resolve(import.meta.dirname, '..')
const { values: opts } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    writes: { type: 'string', default: '200' },
    listeners: { type: 'string', default: '20' },
    sockets: { type: 'string', default: '1000' },
    'per-user': { type: 'string', default: '20' },
    idle: { type: 'string', default: '10' },
  },
})
const WRITES = Number(opts.writes)
const LISTENERS = Number(opts.listeners)
const SOCKETS = Number(opts.sockets)
const PER_USER = Number(opts['per-user'])
const IDLE_SECONDS = Number(opts.idle)

const SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789'
const stateDir = mkdtempSync(path.join(tmpdir(), 'tasks-bench-live-'))
const wrangler = path.join(root, 'node_modules/wrangler/bin/wrangler.js')
const wranglerEnv = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' }
const runWrangler = (args) =>
  execFileSync(process.execPath, [wrangler, ...args], {
    cwd: root,
    env: wranglerEnv,
    stdio: ['ignore', 'ignore', 'inherit'],
  })

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}
const ms = (n) => `${n.toFixed(1)} ms`

/** Every workerd process under this one, with its resident memory (KiB) and CPU time (clock ticks). */
function workerdUsage() {
  const usage = { rssKiB: 0, ticks: 0 }
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('workerd')) continue
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      // Fields after the command: ppid is the 2nd, utime the 12th, stime the 13th.
      if (Number(stat[1]) !== process.pid && !isDescendant(Number(stat[1]))) continue
      usage.ticks += Number(stat[11]) + Number(stat[12])
      const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      usage.rssKiB += Number(rss?.[1] ?? 0)
    } catch {
      // Gone meanwhile.
    }
  }
  return usage
}

function isDescendant(pid) {
  for (let depth = 0; pid > 1 && depth < 10; depth++) {
    if (pid === process.pid) return true
    try {
      pid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1])
    } catch {
      return false
    }
  }
  return false
}

let mf
const sockets = []
try {
  const buildDir = path.join(stateDir, 'build')
  runWrangler(['deploy', '--dry-run', '--outdir', buildDir])
  const script = readdirSync(buildDir).find((f) => f.endsWith('.js'))
  const persist = path.join(stateDir, 'state')
  runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist])
  const config = unstable_readConfig({ config: path.join(root, 'wrangler.toml'), env: 'loadtest' })
  mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      scriptPath: path.join(buildDir, script),
      modulesRoot: buildDir,
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      bindings: { ...config.vars, BETTER_AUTH_SECRET: SECRET, LIVE_SOCKETS_PER_USER: String(PER_USER) },
      ratelimits: Object.fromEntries(
        config.ratelimits.map((r) => [r.name, { namespace_id: r.namespace_id, simple: r.simple }]),
      ),
      d1Databases: { DB: config.d1_databases.find((d) => d.binding === 'DB').database_id },
      durableObjects: Object.fromEntries(
        config.durable_objects.bindings.map((b) => [b.name, { className: b.class_name, useSQLite: true }]),
      ),
      resourcePersistencePath: path.join(persist, 'v3'),
      handleStructuredLogs: () => {},
      unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }],
    }),
  )
  await mf.ready
  const base = (await mf.unsafeGetDirectURL()).origin

  const now = Math.floor(Date.now() / 1000)
  const tokenFor = (sub) => sign({ sub, iat: now, exp: now + 3600 }, SECRET, 'HS256')

  /** A socket of `token`'s user, open once `ready` came; `heard` gets the time of each later message. */
  async function open(token) {
    const res = await fetch(`${base}/tasks/live/ticket`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    })
    if (res.status !== 201) throw new Error(`ticket: ${res.status} ${await res.text()}`)
    const socket = new WebSocket((await res.json()).url)
    const entry = { socket, heard: [] }
    await new Promise((resolve, reject) => {
      socket.onmessage = (event) => {
        const { type } = JSON.parse(event.data)
        if (type === 'ready') return resolve()
        entry.heard.push(performance.now())
      }
      socket.onerror = () => reject(new Error('socket failed'))
    })
    sockets.push(entry)
    return entry
  }

  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }))

  /**
   * `count` creates one after another: when each was sent and answered, and workerd's CPU per
   * create, counted until their pokes (in waitUntil, after each response) have had time to finish.
   */
  async function creates(token, count = WRITES) {
    const sent = []
    const answered = []
    const startTicks = workerdUsage().ticks
    for (let i = 0; i < count; i++) {
      sent.push(performance.now())
      const res = await fetch(`${base}/tasks`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: `live bench ${i}` }),
      })
      await res.arrayBuffer()
      if (res.status !== 201) throw new Error(`create: ${res.status}`)
      answered.push(performance.now())
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
    const cpuMs = (((workerdUsage().ticks - startTicks) / ticksPerSecond) * 1000) / count
    return { sent, answered, latencies: answered.map((at, i) => at - sent[i]), cpuMs }
  }

  console.log(`live updates: ${WRITES} creates each; ${SOCKETS} idle sockets, ${PER_USER} per user\n`)
  // Warm-up: the first requests compile the worker and open the database.
  await creates(await tokenFor('bench-live-warm-up'), 10)
  const quiet = await creates(await tokenFor('bench-live-quiet'))
  const listenedToken = await tokenFor('bench-live-listened')
  const listeners = []
  for (let i = 0; i < LISTENERS; i++) listeners.push(await open(listenedToken))
  const listened = await creates(listenedToken)
  await new Promise((resolve) => setTimeout(resolve, 500))
  // For each socket and create, from the response to the first message heard after the create was sent.
  const delays = listeners.flatMap(({ heard }) =>
    listened.sent.flatMap((sent, i) => {
      const next = heard.find((t) => t >= sent)
      return next === undefined ? [] : [Math.max(0, next - listened.answered[i])]
    }),
  )
  console.log(
    '| user                     | create p50 | create p99 | workerd CPU a create | heard after the response, p50 / p99 |',
  )
  console.log(
    '| ------------------------ | ---------- | ---------- | -------------------- | ----------------------------------- |',
  )
  const row = (label, { latencies, cpuMs }, heard) =>
    console.log(
      `| ${label.padEnd(24)} | ${ms(percentile(latencies, 50)).padStart(10)} | ${ms(percentile(latencies, 99)).padStart(10)} | ${ms(cpuMs).padStart(20)} | ${heard.padEnd(35)} |`,
    )
  row('no socket open', quiet, '-')
  row(`${LISTENERS} sockets open`, listened, `${ms(percentile(delays, 50))} / ${ms(percentile(delays, 99))}`)
  for (const { socket } of listeners) socket.close()
  sockets.length = 0

  const before = workerdUsage()
  for (let i = 0; i < SOCKETS; i++) await open(await tokenFor(`bench-live-idle-${Math.floor(i / PER_USER)}`))
  const opened = workerdUsage()
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000))
  const after = workerdUsage()
  console.log(
    `\n${SOCKETS} idle sockets: workerd memory ${(before.rssKiB / 1024).toFixed(1)} MiB -> ${(opened.rssKiB / 1024).toFixed(1)} MiB ` +
      `(${((opened.rssKiB - before.rssKiB) / Math.max(1, SOCKETS)).toFixed(1)} KiB a socket); ` +
      `CPU over ${IDLE_SECONDS} s idle: ${(((after.ticks - opened.ticks) / ticksPerSecond) * 1000).toFixed(0)} ms`,
  )
} finally {
  for (const { socket } of sockets) socket.close()
  await mf?.dispose()
  rmSync(stateDir, { recursive: true, force: true })
}
