// `npm run bench:ladder`: what each of the project's features costs a request, measured in one run
// beside the naive peer (bench/peer/), for the peer-targets issue's "say which feature costs what".
//
// 1. Request path, in process: `GET /health` through a ladder of apps (bench/health-ladder.ts), from
//    the peer's bare Hono route to the production app, each rung adding one global feature, each
//    sent in a loop inside workerd (bench/entry.ts's in-process mode, no HTTP), rounds interleaved.
// 2. Create on local D1, by schema feature: the production worker's POST /tasks over HTTP, on the
//    full schema and on schemas with one feature's D1 objects dropped, each on its own local D1,
//    with the peer's create as the reference; rows written per create and workerd's CPU per request.
//
// Linux only: CPU time comes from /proc. See docs/performance.md, "What each feature costs".
//
//   npm run bench:ladder -- [--only request|create] [--times 1000] [--in-process-rounds 45]
//                           [--rounds 5] [--duration 5] [--warmup 1] [--connections 8]
import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs, promisify } from 'node:util'
import { sign } from 'hono/jwt'
import { unstable_readConfig } from 'wrangler'
import { printMarkdown } from './markdown.mjs'
import { startPeer } from './peer.mjs'
import { OTHER_USERS, seed, TASKS_PER_OTHER_USER, TASKS_PER_USER } from './seed.mjs'
import { build, root, runWrangler, serve, workerdCpu, workerdCpuNanos } from './serve.mjs'

const { values: opts } = parseArgs({
  options: {
    only: { type: 'string' },
    times: { type: 'string', default: '1000' },
    'in-process-rounds': { type: 'string', default: '45' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '8' },
  },
})
const TIMES = Number(opts.times)
const IN_PROCESS_ROUNDS = Number(opts['in-process-rounds'])
const ROUNDS = Number(opts.rounds)
const only = opts.only?.split(',')
const selects = (table) => !only || only.includes(table)

/** Requests each rung gets before the timed rounds (as test/perf/peer-budget.mjs warms up). */
const WARMUP_TIMES = 2000
const SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789'
const USER = 'bench-user'
const OK_BODY = '{"status":"ok"}'
/** Every header hono's c.json() sends: the peer's /health. */
const JSON_HEADERS = ['content-type']
/** What src/respond.ts adds to every response. */
const COMMON_HEADERS = [...JSON_HEADERS, 'cache-control', 'server-timing', 'x-content-type-options', 'x-request-id']
/** What src/cors.ts adds for a request with no allowed Origin (CORS_ORIGINS is empty in the loadtest environment). */
const CORS_HEADERS = [...COMMON_HEADERS, 'access-control-expose-headers', 'vary']

/**
 * The rungs, cheapest first, each adding one feature to the one above (bench/health-ladder.ts).
 * `headers` are the header names its GET /health must answer with, no more; `logs`, whether a 404
 * writes the request log line (src/observability.ts), which is how the probe sees `observe` run;
 * `probes`, more requests and the status each must get.
 */
const RUNGS = [
  { name: 'floor', label: 'loop floor: a 204 of nothing', status: 204, body: '', headers: [], logs: false },
  { name: 'peer', label: 'naive peer (bench/peer/app.ts)', headers: JSON_HEADERS, logs: false },
  { name: 'bare', label: "bare Hono, the peer's /health route alone", headers: JSON_HEADERS, logs: false },
  { name: 'observe', label: '+ observe: request id, timing, sampled log line', headers: JSON_HEADERS, logs: true },
  {
    name: 'respond',
    label: '+ commonHeaders and json(): security headers, X-Request-Id, Server-Timing',
    headers: COMMON_HEADERS,
    logs: true,
  },
  { name: 'cors', label: '+ cors', headers: CORS_HEADERS, logs: true },
  {
    name: 'health-alone',
    label: "+ app.ts's 405 route, notFound, onError: its /health alone",
    headers: CORS_HEADERS,
    logs: true,
    probes: [{ method: 'POST', path: '/health', status: 405 }],
  },
  {
    name: 'app',
    label: '= production app: every route, its getPath',
    headers: CORS_HEADERS,
    logs: true,
    probes: [
      { method: 'POST', path: '/health', status: 405 },
      // Only the full app has the other routes; this one reads no binding (the rungs get no rate limiter).
      { method: 'GET', path: '/openapi.json', status: 200 },
    ],
  },
]

/** The four objects a create could touch with no remindAt set; each variant drops one feature's. */
const FEATURES = {
  events: {
    label: 'event log (task_events_on_insert, _on_update)',
    drop: [
      ['TRIGGER', 'task_events_on_insert'],
      ['TRIGGER', 'task_events_on_update'],
    ],
  },
  'list-indexes': {
    label: 'five list-sort indexes',
    drop: [
      ['INDEX', 'tasks_by_user_completed_number'],
      ['INDEX', 'tasks_by_user_due_nulls_high'],
      ['INDEX', 'tasks_by_user_due_nulls_low'],
      ['INDEX', 'tasks_by_user_priority'],
      ['INDEX', 'tasks_by_user_title'],
    ],
  },
  // A create's INSERT fires only the insert trigger; the index is partial (remind_at IS NOT NULL).
  reminders: {
    label: 'reminders (task_reminders_on_insert, tasks_by_user_remind)',
    drop: [
      ['TRIGGER', 'task_reminders_on_insert'],
      ['INDEX', 'tasks_by_user_remind'],
    ],
  },
  'seq-index': { label: 'sync seq index (tasks_by_user_seq)', drop: [['INDEX', 'tasks_by_user_seq']] },
}
const VARIANTS = [
  { name: 'full', label: 'full schema', drop: [] },
  ...Object.entries(FEATURES).map(([name, { label, drop }]) => ({ name, label: `without the ${label}`, drop })),
  { name: 'none', label: 'without all four', drop: Object.values(FEATURES).flatMap((f) => f.drop) },
]

if (process.platform !== 'linux') {
  console.log('bench:ladder: Linux only, it reads CPU time from /proc')
  process.exit(1)
}

const stateDir = mkdtempSync(path.join(tmpdir(), 'tasks-ladder-'))
try {
  const bundle = build(path.join(stateDir, 'build'), ['bench/entry.ts'], { quiet: true })
  const config = unstable_readConfig(
    { config: path.join(root, 'wrangler.toml'), env: 'loadtest' },
    { hideWarnings: true },
  )
  if (selects('request')) await requestLadder(bundle, config)
  if (selects('create')) await createBySchema(bundle, config)
} finally {
  rmSync(stateDir, { recursive: true, force: true })
}

/** Table 1: each rung of the /health ladder, in a loop inside one workerd. */
async function requestLadder(bundle, config) {
  let requestLogs = 0
  const { mf, base } = await serve(bundle, config, {
    bindings: { ...config.vars, BETTER_AUTH_SECRET: SECRET },
    d1Databases: { DB: config.d1_databases.find((d) => d.binding === 'DB').database_id },
    handleStructuredLogs: ({ message }) => {
      if (message.includes('"message":"request"')) requestLogs++
    },
  })
  try {
    const send = (rung, { method = 'GET', path: urlPath = '/health', times = 0, probe = false } = {}) =>
      fetch(`${base}/__bench/in-process`, {
        method: 'POST',
        body: JSON.stringify({ method, path: urlPath, headers: {}, times, rung, probe }),
      })

    // Each rung answers what its row claims, before anything is timed.
    for (const rung of RUNGS) {
      const answer = await (await send(rung.name, { probe: true })).json()
      const names = Object.keys(answer.headers).sort()
      const status = rung.status ?? 200
      const body = rung.body ?? OK_BODY
      if (answer.status !== status || answer.body !== body || names.join() !== [...rung.headers].sort().join()) {
        throw new Error(
          `rung ${rung.name} answered ${JSON.stringify(answer)}; expected ${status}, ${body}, ${rung.headers}`,
        )
      }
      for (const probe of rung.probes ?? []) {
        const got = (await (await send(rung.name, { ...probe, probe: true })).json()).status
        if (got !== probe.status) throw new Error(`rung ${rung.name}: ${probe.method} ${probe.path} answered ${got}`)
      }
      // A 404 is always logged by observe (only successes are sampled).
      const before = requestLogs
      await (await send(rung.name, { path: '/no-such-path', probe: true })).arrayBuffer()
      const deadline = Date.now() + (rung.logs ? 5000 : 500)
      while (requestLogs === before && Date.now() < deadline) await sleep(20)
      if (requestLogs > before !== rung.logs) {
        throw new Error(`rung ${rung.name}: a 404 ${rung.logs ? 'wrote no' : 'wrote a'} request log line`)
      }
    }

    /** CPU nanoseconds of `times` requests to the rung inside workerd. */
    const loop = async (rung, times) => {
      const before = workerdCpuNanos()
      const res = await send(rung, { times })
      const text = await res.text()
      const nanos = workerdCpuNanos() - before
      if (res.status !== 204) throw new Error(`rung ${rung}: ${text || res.status}`)
      return nanos
    }
    // Compiled by V8's optimizing tier, and the configuration cached, before any loop is timed.
    for (const rung of RUNGS) await loop(rung.name, WARMUP_TIMES)
    const micros = Object.fromEntries(RUNGS.map((r) => [r.name, []]))
    for (let n = 0; n < IN_PROCESS_ROUNDS; n++) {
      // What a loop of no requests costs (the HTTP request that starts it), taken off every loop.
      const start = await loop('floor', 0)
      // Forwards in even rounds, backwards in odd ones: no rung always runs after the same one.
      const order = n % 2 === 0 ? RUNGS : [...RUNGS].reverse()
      for (const rung of order) micros[rung.name].push(((await loop(rung.name, TIMES)) - start) / TIMES / 1000)
    }

    console.log(
      `\nGET /health, in process: ${TIMES} requests a loop inside workerd, no HTTP; median of ${IN_PROCESS_ROUNDS} rounds, [middle half], (range)`,
    )
    const peer = micros.peer
    printMarkdown(
      ['rung', 'CPU/req', 'added by the step', 'x peer'],
      RUNGS.map((rung, i) => {
        const own = micros[rung.name]
        const added = i === 0 ? undefined : own.map((v, n) => v - micros[RUNGS[i - 1].name][n])
        const multiple = own.map((v, n) => v / peer[n])
        return [
          rung.label,
          cell(own, 1, ' µs', true),
          added ? cell(added, 1, ' µs', true) : '',
          cell(multiple, 2, '', true),
        ]
      }),
      new Set([0]),
    )
  } finally {
    await mf.dispose()
  }
}

/** Table 2: POST /tasks on local D1, per schema variant, with the peer's create beside them. */
async function createBySchema(bundle, config) {
  // The same migrations as dev, tests and production, applied once; each variant starts from a copy.
  const template = path.join(stateDir, 'migrated')
  runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', template], { quiet: true })
  const database = config.d1_databases.find((d) => d.binding === 'DB')

  const now = Math.floor(Date.now() / 1000)
  const { JWT_ISSUER: iss, JWT_AUDIENCE: aud } = config.vars
  const claims = { sub: USER, iat: now, exp: now + 3600, ...(iss && { iss }), ...(aud && { aud }) }
  const auth = { Authorization: `Bearer ${await sign(claims, SECRET, 'HS256')}` }
  const create = {
    name: 'create',
    label: 'POST /tasks',
    method: 'POST',
    path: '/tasks',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title: 'Benchmark task', description: 'created under load', tags: ['bench', 'load'] }),
  }

  const servers = []
  /** The peer's create first, then each variant's. */
  const rows = []
  let peer
  try {
    for (const variant of VARIANTS) {
      const persist = path.join(stateDir, `state-${variant.name}`)
      cpSync(template, persist, { recursive: true })
      const { mf, base } = await serve(bundle, config, {
        bindings: { ...config.vars, BETTER_AUTH_SECRET: SECRET },
        ratelimits: Object.fromEntries(
          config.ratelimits.map((r) => [r.name, { namespace_id: r.namespace_id, simple: r.simple }]),
        ),
        d1Databases: { DB: database.database_id },
        resourcePersistencePath: path.join(persist, 'v3'),
      })
      servers.push(mf)
      const db = await mf.getD1Database('DB')
      // Seeded first, so that every variant holds the same data, events included.
      await seed(db, USER, false)
      await dropObjects(db, variant)
      rows.push({ ...variant, base, endpoint: create, rowsWritten: await rowsWritten(base, create, variant.label) })
    }
    const { taskId } = await (await servers[0].getD1Database('DB'))
      .prepare('SELECT id AS taskId FROM tasks WHERE user_id = ?1 LIMIT 1')
      .bind(USER)
      .first()
    peer = await startPeer({
      stateDir,
      config,
      secret: SECRET,
      profile: false,
      user: USER,
      auth,
      projectTaskId: taskId,
      seedCounts: { tasksPerUser: TASKS_PER_USER, otherUsers: OTHER_USERS, tasksPerOtherUser: TASKS_PER_OTHER_USER },
    })
    const endpoint = peer.counterpart(create)
    rows.unshift({
      name: 'peer',
      label: 'naive peer',
      base: peer.base,
      endpoint,
      rowsWritten: await rowsWritten(peer.base, endpoint, 'naive peer'),
    })

    console.log(
      `\nPOST /tasks on local D1: ${opts.connections} connections, ${opts.duration} s each after ${opts.warmup} s warm-up, ${ROUNDS} rounds`,
    )
    const cpu = Object.fromEntries(rows.map((r) => [r.name, []]))
    for (let n = 0; n < ROUNDS; n++) {
      const order = n % 2 === 0 ? rows : [...rows].reverse()
      for (const row of order) {
        const measured = await loadCpu(row.base, row.endpoint, 201)
        cpu[row.name].push(measured.cpuMicros)
        console.log(`  round ${n + 1}, ${row.label}: ${Math.round(measured.requestsPerSecond)} req/s`)
      }
    }

    console.log(
      '\nPOST /tasks on local D1 by schema feature: workerd CPU per request over HTTP, median of the rounds, range in parentheses.' +
        "\nLocal D1 runs inside workerd, so its work counts here; on Cloudflare, D1's work is not the worker's CPU.",
    )
    const full = cpu.full
    const peerCpu = cpu.peer
    printMarkdown(
      ['schema', 'rows written', 'CPU/req', 'x full schema', 'x peer'],
      rows.map((row) => {
        const own = cpu[row.name]
        const ofFull = own.map((v, n) => v / full[n])
        const ofPeer = own.map((v, n) => v / peerCpu[n])
        return [row.label, String(row.rowsWritten), cell(own, 0, ' µs'), cell(ofFull, 2), cell(ofPeer, 2)]
      }),
      new Set([0]),
    )
  } finally {
    await peer?.dispose()
    for (const mf of servers) await mf.dispose()
  }
}

/**
 * D1's rows written (`meta.rows_written`, added up by the entry's meter) for one create, which must
 * still answer 201 on the variant's schema.
 */
async function rowsWritten(base, { method, path: urlPath, headers, body }, label) {
  const res = await fetch(`${base}${urlPath}`, { method, headers: { ...headers, 'x-bench-meter': '1' }, body })
  await res.arrayBuffer()
  if (res.status !== 201) throw new Error(`${label}: the metered create answered ${res.status}`)
  return Number(res.headers.get('x-bench-rows-written'))
}

/** Drops the variant's objects, each of which must exist as named: a renamed one would go unpriced. */
async function dropObjects(db, { label, drop }) {
  if (drop.length === 0) return
  const exists = db.prepare('SELECT count(*) AS n FROM sqlite_master WHERE type = ?1 AND name = ?2')
  for (const [type, name] of drop) {
    if ((await exists.bind(type.toLowerCase(), name).first()).n !== 1) {
      throw new Error(`${label}: no ${type.toLowerCase()} ${name} in the migrated schema`)
    }
  }
  await db.batch(drop.map(([type, name]) => db.prepare(`DROP ${type} ${name}`)))
}

/**
 * One load of the endpoint from bench/load.mjs in its own process, after a warm-up, as bench/run.mjs
 * loads a row: workerd's CPU per request (every workerd this process started; the idle ones add
 * next to nothing). Every answer must have `status`.
 */
async function loadCpu(base, { label, method, path: urlPath, headers, body }, status) {
  const run = async (duration) => {
    const spec = { url: `${base}${urlPath}`, method, headers, body, connections: Number(opts.connections), duration }
    const { stdout } = await promisify(execFile)(process.execPath, [
      path.join(root, 'bench/load.mjs'),
      JSON.stringify({ ...spec, warmup: 0 }),
    ])
    const result = JSON.parse(stdout)
    const wrong = Object.keys(result.statuses).filter((code) => Number(code) !== status)
    if (result.failed > 0 || result.requests === 0 || wrong.length > 0) {
      const statuses = Object.entries(result.statuses).map(([code, n]) => `${n} x ${code}`)
      throw new Error(`${label}: ${result.failed} of ${result.requests} failed (statuses: ${statuses.join(', ')})`)
    }
    return result
  }
  if (Number(opts.warmup) > 0) await run(Number(opts.warmup))
  const before = workerdCpu()
  const result = await run(Number(opts.duration))
  return {
    requestsPerSecond: result.requestsPerSecond,
    cpuMicros: ((workerdCpu() - before) * 1e6) / result.requests,
  }
}

/**
 * The median of the rounds' values and their range; with `middle`, the middle half of them first,
 * in brackets. On a shared machine a few loops cost several times the rest (another process's
 * work on the same core), which sets the range of many rounds but not their middle half.
 */
function cell(values, digits, unit = '', middle = false) {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q) => {
    const i = (sorted.length - 1) * q
    return sorted[Math.floor(i)] + (sorted[Math.ceil(i)] - sorted[Math.floor(i)]) * (i - Math.floor(i))
  }
  // "to", not a dash: a step's added CPU may be negative.
  const span = (low, high) => `${low.toFixed(digits)} to ${high.toFixed(digits)}`
  const half = middle ? ` [${span(at(0.25), at(0.75))}]` : ''
  const range = sorted.length > 1 ? ` (${span(sorted[0], sorted.at(-1))})` : ''
  return `${at(0.5).toFixed(digits)}${unit}${half}${range}`
}
