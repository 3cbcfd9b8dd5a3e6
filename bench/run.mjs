// `npm run bench`: the worker in workerd (Miniflare's API, no dev proxy) with a seeded local D1,
// loaded by autocannon in a second process. Prints req/s, p50, p99, workerd's CPU per request and
// both as ratios to a no-op route, and the rows D1 reads and writes per request, for each endpoint;
// writes bench/results.json. `--profile` also records a V8 CPU profile of workerd per endpoint
// through the inspector and prints its top entries; `--in-process` also runs each app request in a
// loop inside workerd, without HTTP; `--peer` also runs the naive peer (bench/peer.mjs) and compares
// the two. See docs/performance.md.
//
//   npm run bench -- [--duration 5] [--warmup 1] [--connections 8] [--rounds 1] [--only list,get:app,chat]
//                    [--profile] [--in-process [--in-process-times 5000]] [--replay] [--peer]
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs, promisify } from 'node:util'
import { sign } from 'hono/jwt'
import { unstable_readConfig } from 'wrangler'
import { printMarkdown } from './markdown.mjs'
import { comparePeer, peerTable, startPeer } from './peer.mjs'
import { CHAT_USERS, OTHER_USERS, seed, TASKS_PER_CHAT_USER, TASKS_PER_OTHER_USER, TASKS_PER_USER } from './seed.mjs'
import { build, root, runWrangler, serve, workerdCpu } from './serve.mjs'

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '8' },
    only: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    'in-process': { type: 'boolean', default: false },
    'in-process-times': { type: 'string', default: '5000' },
    replay: { type: 'boolean', default: false },
    peer: { type: 'boolean', default: false },
  },
})
/** With the peer, at least two rounds: one with the project first, one with the peer first. */
const ROUNDS = opts.peer ? Math.max(2, Number(opts.rounds)) : Number(opts.rounds)

const SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789'
/** Turns a chat user may start (`conversationsPerUser` in src/chat/bounds.ts): see CHAT_USERS in bench/seed.mjs. */
const CONVERSATIONS_PER_USER = 100
/** The most D1 round trips a request may take, from the chat issue: a turn, 3 and 1 per tool call. */
const ROUND_TRIP_BUDGETS = { chat: 3 + 1 }
/** How long the webhook row waits, after its load, for every event to be delivered. */
const SETTLE_SECONDS = 60
/** Targets from the performance issue: minimum share of the floor's req/s. */
const TARGETS = { get: 0.4, create: 0.3, list: 0.2 }
/** Targets from the efficiency issue: most CPU per request, as a multiple of the floor's. */
const CPU_TARGETS = { health: 2.0, me: 3.5, 'get:app': 3.5, 'update:app': 4.0, 'create:app': 4.0, 'list:app': 5.0 }
/** Sent on a request, makes bench/entry.ts answer its D1 calls at once (see there). */
const STUB_D1_HEADER = 'x-bench-d1'
/** Sent on a request, makes bench/entry.ts report the rows D1 read and wrote for it (see there). */
const METER_HEADER = 'x-bench-meter'
/** Sent on a request, makes bench/entry.ts send the app's first response to it again (`--replay`, see there). */
const REPLAY_HEADER = 'x-bench-replay'
/** Sent on a request, gives it WEBHOOK_URL and WEBHOOK_SECRET in bench/entry.ts (see there). */
const WEBHOOK_HEADER = 'x-bench-webhook'
/** The stub model's URL, which bench/entry.ts answers in the worker (STUB_MODEL_URL in bench/stubs.ts). */
const STUB_MODEL_URL = 'https://model.bench.invalid/v1'
/** Entries of each CPU profile printed. */
const PROFILE_TOP = 15
/** Requests per in-process loop (`--in-process`): enough for workerd's CPU ticks (10 ms) to be fine-grained. */
const IN_PROCESS_TIMES = Number(opts['in-process-times'])

const only = opts.only?.split(',')
/** Whether `--only` selects the row: `get` names both get rows, `get:app` one. The floor always runs: every ratio divides by it. */
const selects = (name) => name === 'floor' || !only || only.includes(name) || only.includes(name.split(':')[0])

const stateDir = mkdtempSync(path.join(tmpdir(), 'tasks-bench-'))

let mf
let peer
let receiver
try {
  // The bench entry (the app plus its reference routes), bundled exactly as `wrangler deploy` bundles.
  // A profile needs the bundle's names and module comments, which minifying removes.
  const bundle = build(path.join(stateDir, 'build'), ['bench/entry.ts', ...(opts.profile ? ['--no-minify'] : [])])

  // The same migrations as dev, tests and production, applied the way `npm run dev` applies them.
  const persist = path.join(stateDir, 'state')
  runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist])

  // The `loadtest` environment: the worker with limits the load never reaches (docs/ratelimits.md).
  const config = unstable_readConfig({ config: path.join(root, 'wrangler.toml'), env: 'loadtest' })
  const database = config.d1_databases.find((d) => d.binding === 'DB')
  receiver = await startReceiver()
  const served = await serve(bundle, config, {
    // The load is one user at thousands of requests a second, creating tasks for the whole run.
    // Chat goes to the stub model; the webhook is on only for the requests that ask (bench/entry.ts).
    bindings: {
      ...config.vars,
      BETTER_AUTH_SECRET: SECRET,
      CHAT_API_BASE_URL: STUB_MODEL_URL,
      CHAT_MODEL: 'bench-stub',
      CHAT_API_KEY: 'bench-key',
      BENCH_WEBHOOK_URL: receiver.url,
      BENCH_WEBHOOK_SECRET: `whsec_${Buffer.from('bench-webhook-secret-of-32-bytes').toString('base64')}`,
    },
    ratelimits: Object.fromEntries(
      config.ratelimits.map((r) => [r.name, { namespace_id: r.namespace_id, simple: r.simple }]),
    ),
    d1Databases: { DB: database.database_id },
    // The webhook's queue, produced and consumed by the worker, as the loadtest environment declares it.
    queueProducers: Object.fromEntries(config.queues.producers.map((q) => [q.binding, { queueName: q.queue }])),
    queueConsumers: Object.fromEntries(
      config.queues.consumers.map((q) => [
        q.queue,
        { maxBatchSize: q.max_batch_size, maxBatchTimeout: q.max_batch_timeout, maxRetries: q.max_retries },
      ]),
    ),
    resourcePersistencePath: path.join(persist, 'v3'),
    ...(opts.profile && { inspectorPort: 0 }),
  })
  mf = served.mf
  const base = served.base

  const db = await mf.getD1Database('DB')
  const user = 'bench-user'
  await seed(db, user, selects('chat'))
  const { taskId } = await db.prepare('SELECT id AS taskId FROM tasks WHERE user_id = ?1 LIMIT 1').bind(user).first()

  const now = Math.floor(Date.now() / 1000)
  const { JWT_ISSUER: iss, JWT_AUDIENCE: aud } = config.vars
  const claims = {
    sub: user,
    email: 'bench@example.com',
    iat: now,
    exp: now + 3600,
    ...(iss && { iss }),
    ...(aud && { aud }),
  }
  const token = await sign(claims, SECRET, 'HS256')
  const chatTokens = selects('chat')
    ? await Promise.all(
        Array.from({ length: CHAT_USERS }, (_, i) => sign({ ...claims, sub: `chat-user-${i}` }, SECRET, 'HS256')),
      )
    : []
  const auth = { Authorization: `Bearer ${token}` }
  const json = { ...auth, 'Content-Type': 'application/json' }

  // The four endpoints the issue names, each with local D1 and with the stub D1 (app only).
  const api = [
    { name: 'list', label: 'GET /tasks?limit=50', method: 'GET', path: '/tasks?limit=50', headers: auth },
    { name: 'get', label: 'GET /tasks/{id}', method: 'GET', path: `/tasks/${taskId}`, headers: auth },
    {
      name: 'update',
      label: 'PATCH /tasks/{id}',
      method: 'PATCH',
      path: `/tasks/${taskId}`,
      headers: json,
      body: JSON.stringify({ priority: 'high' }),
    },
    {
      name: 'create',
      label: 'POST /tasks',
      method: 'POST',
      path: '/tasks',
      headers: json,
      body: JSON.stringify({ title: 'Benchmark task', description: 'created under load', tags: ['bench', 'load'] }),
    },
  ]
  // Cheapest first, so each row adds one cost to the one above it. Create runs last: list and get
  // see exactly the seeded data.
  const endpoints = [
    { name: 'floor', label: 'no-op route (floor)', method: 'GET', path: '/__bench/noop', headers: {} },
    { name: 'd1floor', label: 'no-op + D1 SELECT 1', method: 'GET', path: '/__bench/d1', headers: {} },
    {
      name: 'limiterfloor',
      label: 'no-op + rate limiter (simulated)',
      method: 'GET',
      path: '/__bench/limiter',
      headers: {},
    },
    { name: 'health', label: 'GET /health', method: 'GET', path: '/health', headers: {} },
    { name: 'me', label: 'GET /me (JWT, no D1)', method: 'GET', path: '/me', headers: auth },
    ...api.map((e) => ({
      ...e,
      name: `${e.name}:app`,
      label: `${e.label}, stub D1`,
      headers: { ...e.headers, [STUB_D1_HEADER]: '1' },
    })),
    // workerd's own cost of each request and its response, with none of our code (bench/entry.ts).
    ...(opts.replay
      ? [{ name: 'health', label: 'GET /health', method: 'GET', path: '/health', headers: {} }, ...api].map((e) => ({
          ...e,
          name: `${e.name}:replay`,
          label: `${e.label}, replayed`,
          headers: { ...e.headers, [REPLAY_HEADER]: '1' },
        }))
      : []),
    ...api,
    // The same create with the webhook on: its event also queued, and delivered during the load.
    {
      ...api.find((e) => e.name === 'create'),
      name: 'create:webhook',
      label: 'POST /tasks, webhook on',
      headers: { ...json, [WEBHOOK_HEADER]: '1' },
      settle: receiver.settle,
    },
    // One chat turn, each in a new conversation: the stub model calls list_tasks, then answers.
    {
      name: 'chat',
      label: 'POST /chat, 1 tool call',
      method: 'POST',
      path: '/chat',
      headers: json,
      body: JSON.stringify({ message: 'What is on my list?' }),
      status: 200,
      users: { tokens: chatTokens, next: 0 },
    },
  ].filter((e) => selects(e.name))

  console.log(
    `workerd via Miniflare at ${base}; ${opts.connections} connections, ${opts.duration} s per endpoint after ${opts.warmup} s warm-up`,
  )
  // Rows first, one metered request each, so that list and get read exactly the seeded data.
  // Every app endpoint selected, with local D1 whether or not its local-D1 row runs.
  const selected = new Set(endpoints.map((e) => e.name.split(':')[0]))
  const rows = await meterRows(base, [
    ...endpoints.filter((e) => ['health', 'me'].includes(e.name)),
    ...api.filter((e) => selected.has(e.name)),
    ...endpoints.filter((e) => ['create:webhook', 'chat'].includes(e.name)),
    ...extraWrites(taskId, auth, json),
  ])
  // The metered create's event, delivered before any load.
  await endpoints.find((e) => e.name === 'create:webhook')?.settle(1)
  if (opts.peer) {
    peer = await startPeer({
      stateDir,
      config,
      secret: SECRET,
      profile: opts.profile,
      user,
      auth,
      projectTaskId: taskId,
      seedCounts: { tasksPerUser: TASKS_PER_USER, otherUsers: OTHER_USERS, tasksPerOtherUser: TASKS_PER_OTHER_USER },
    })
    console.log(
      `the naive peer (bench/peer/) at ${peer.base}, the same way; ${ROUNDS} rounds, alternating which goes first`,
    )
  }
  const profiler = opts.profile
    ? await connectProfiler(await mf.getInspectorURL(), bundleModules(readFileSync(bundle.scriptPath, 'utf8')))
    : undefined
  // Each round loads every endpoint once and divides by its own floor; the table shows each
  // endpoint's median round, and the spread of its CPU ratio over the rounds.
  const rounds = []
  const peerRounds = []
  for (let n = 1; n <= ROUNDS; n++) {
    if (ROUNDS > 1) console.log(`round ${n} of ${ROUNDS}`)
    const results = []
    const peerResults = []
    for (const endpoint of endpoints) {
      const ours = () => (profiler ? profiler.around(endpoint, () => load(base, endpoint)) : load(base, endpoint))
      const counterpart = peer?.counterpart(endpoint)
      const theirs = () => load(peer.base, counterpart)
      // The project first in odd rounds, the peer first in even ones: neither always runs after the other.
      let run
      let peerRun
      if (counterpart && n % 2 === 0) {
        peerRun = await theirs()
        run = await ours()
      } else {
        run = await ours()
        if (counterpart) peerRun = await theirs()
      }
      peerResults.push(peerRun)
      if (peerRun) console.log(`  ${endpoint.label}, naive peer: ${Math.round(peerRun.requestsPerSecond)} req/s`)
      const metered = rows.find((r) => r.name === endpoint.name.replace(/:app$/, ''))
      if (metered) run.rows = { read: metered.rowsRead, written: metered.rowsWritten, roundTrips: metered.roundTrips }
      results.push(run)
      console.log(`  ${endpoint.label}: ${Math.round(run.requestsPerSecond)} req/s`)
    }
    const floor = results[0]
    for (const run of results) {
      run.ratioToFloor = round(run.requestsPerSecond / floor.requestsPerSecond, 3)
      if (run.workerdCpuMicrosPerRequest && floor.workerdCpuMicrosPerRequest) {
        run.cpuRatioToFloor = round(run.workerdCpuMicrosPerRequest / floor.workerdCpuMicrosPerRequest, 2)
      }
    }
    rounds.push(results)
    peerRounds.push(peerResults)
  }
  const results = endpoints.map((_, i) => medianRound(rounds.map((results) => results[i])))

  printTable(results)
  printRows(rows)
  const peerComparison = peer ? comparePeer(endpoints, rounds, peerRounds) : undefined
  if (peerComparison) {
    console.log(`\nAgainst the naive peer (bench/peer/): median of ${ROUNDS} rounds, each round's in parentheses:`)
    const { header, rows: cells } = peerTable(peerComparison)
    printMarkdown(header, cells, new Set([0]))
  }
  const inProcess = opts['in-process'] ? await runInProcess(base, endpoints, results, profiler) : undefined
  profiler?.close()
  if (opts.profile)
    console.log('\nCPU/req was measured with the profiler attached: compare it only with other --profile runs.')
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown' },
    settings: {
      runtime: 'workerd via Miniflare (direct socket)',
      connections: Number(opts.connections),
      durationSeconds: Number(opts.duration),
      warmupSeconds: Number(opts.warmup),
      rounds: ROUNDS,
      seed: {
        tasksForBenchedUser: TASKS_PER_USER,
        otherUsers: OTHER_USERS,
        tasksPerOtherUser: TASKS_PER_OTHER_USER,
        ...(selects('chat') && { chatUsers: CHAT_USERS, tasksPerChatUser: TASKS_PER_CHAT_USER }),
      },
    },
    targets: {
      requestsPerSecondShareOfFloor: TARGETS,
      cpuMultipleOfFloor: CPU_TARGETS,
      d1RoundTrips: ROUND_TRIP_BUDGETS,
    },
    profiled: opts.profile,
    results,
    rows,
    ...(inProcess && { inProcess }),
    ...(peerComparison && { peer: peerComparison }),
  }
  writeFileSync(path.join(root, 'bench/results.json'), `${JSON.stringify(report, null, 2)}\n`)
  console.log('\nwrote bench/results.json')
} finally {
  await peer?.dispose()
  await mf?.dispose()
  await receiver?.close()
  rmSync(stateDir, { recursive: true, force: true })
}

/**
 * Each row without local D1 (the floor, /health, /me and the stub-D1 rows), IN_PROCESS_TIMES times in
 * a loop inside workerd (bench/entry.ts), once per round: the worker's own CPU per request, without
 * workerd reading the request and writing the response. Beside it, the HTTP row's CPU over its floor.
 * With --profile, each loop is profiled once more, before the measured rounds.
 */
async function runInProcess(base, endpoints, results, profiler) {
  const selected = endpoints.filter((e) => ['floor', 'health', 'me'].includes(e.name) || e.name.endsWith(':app'))
  const loop = async ({ method, path: urlPath, headers, body }, times) => {
    const res = await fetch(`${base}/__bench/in-process`, {
      method: 'POST',
      body: JSON.stringify({ method, path: urlPath, headers, body, times }),
    })
    if (res.status !== 204) throw new Error(`in-process loop answered ${res.status}`)
  }
  const runs = Object.fromEntries(selected.map((e) => [e.name, []]))
  for (const e of selected) await loop(e, IN_PROCESS_TIMES / 5) // warm-up
  if (profiler) {
    for (const e of selected) {
      const named = { name: `${e.name}.in-process`, label: `${e.label}, in process` }
      await profiler.around(named, () => loop(e, IN_PROCESS_TIMES))
    }
  }
  for (let n = 0; n < ROUNDS; n++) {
    for (const e of selected) {
      const before = workerdCpu()
      await loop(e, IN_PROCESS_TIMES)
      runs[e.name].push(((workerdCpu() - before) * 1e6) / IN_PROCESS_TIMES)
    }
  }
  const median = (values) => values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]
  const floor = median(runs.floor)
  const httpFloor = results.find((r) => r.name === 'floor')?.workerdCpuMicrosPerRequest
  const table = selected.map((e) => {
    const http = results.find((r) => r.name === e.name)?.workerdCpuMicrosPerRequest
    return {
      name: e.name,
      label: e.label,
      cpuMicrosPerRequest: round(median(runs[e.name]), 1),
      overFloorMicros: round(median(runs[e.name]) - floor, 1),
      ...(http && httpFloor && { httpOverFloorMicros: http - httpFloor }),
    }
  })
  console.log(`\nIn workerd without HTTP (${IN_PROCESS_TIMES} requests in a loop, median of ${ROUNDS}):`)
  printMarkdown(
    ['endpoint', 'CPU/req', 'over the floor', 'over the floor, HTTP'],
    table.map((r) => [
      r.label,
      `${r.cpuMicrosPerRequest} µs`,
      `${r.overFloorMicros} µs`,
      r.httpOverFloorMicros === undefined ? '' : `${r.httpOverFloorMicros} µs`,
    ]),
    new Set([0]),
  )
  return table
}

/** The run whose CPU ratio is the median of the rounds', with the lowest and highest ratio seen. */
function medianRound(runs) {
  const ranked = runs
    .filter((r) => r.cpuRatioToFloor !== undefined)
    .sort((a, b) => a.cpuRatioToFloor - b.cpuRatioToFloor)
  if (ranked.length === 0) return runs[0]
  const median = ranked[Math.floor((ranked.length - 1) / 2)]
  return { ...median, cpuRatioRange: [ranked[0].cpuRatioToFloor, ranked[ranked.length - 1].cpuRatioToFloor] }
}

/** Writes the load does not run, metered once each: they need a task of their own, or a key. */
function extraWrites(taskId, auth, json) {
  const body = JSON.stringify({ title: 'Metered task', tags: ['bench'] })
  return [
    {
      name: 'create-keyed',
      label: 'POST /tasks with Idempotency-Key',
      method: 'POST',
      path: '/tasks',
      headers: { ...json, 'Idempotency-Key': crypto.randomUUID() },
      body,
    },
    { name: 'replace', label: 'PUT /tasks/{id}', method: 'PUT', path: `/tasks/${taskId}`, headers: json, body },
    { name: 'delete', label: 'DELETE /tasks/{id}', method: 'DELETE', path: '/tasks/{new}', headers: auth },
    {
      name: 'changes',
      label: 'GET /tasks/changes?limit=50',
      method: 'GET',
      path: '/tasks/changes?limit=50',
      headers: auth,
    },
  ]
}

/**
 * D1's `meta.rows_read` and `meta.rows_written`, and the D1 round trips, for one request to each
 * endpoint, on local D1 with the real migrations (bench/entry.ts adds them up). DELETE gets a task
 * created for it.
 */
async function meterRows(base, endpoints) {
  const rows = []
  for (const { name, label, method, path: urlPath, headers, body } of endpoints) {
    let target = urlPath
    if (target.includes('{new}')) {
      const created = await fetch(`${base}/tasks`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: 'To delete' }),
      })
      target = target.replace('{new}', (await created.json()).id)
    }
    const res = await fetch(`${base}${target}`, { method, headers: { ...headers, [METER_HEADER]: '1' }, body })
    await res.arrayBuffer()
    if (res.status >= 300) throw new Error(`${label}: status ${res.status} while metering rows`)
    rows.push({
      name,
      endpoint: label,
      rowsRead: Number(res.headers.get('x-bench-rows-read')),
      rowsWritten: Number(res.headers.get('x-bench-rows-written')),
      roundTrips: Number(res.headers.get('x-bench-round-trips')),
    })
  }
  return rows
}

/**
 * V8's sampling profiler in workerd, through Miniflare's inspector proxy (Chrome DevTools Protocol
 * over a WebSocket): one profile per endpoint, written to bench/profiles/ and summarised by self time.
 */
async function connectProfiler(url, modules) {
  const [target] = await (await fetch(new URL('/json/list', url.href.replace(/^ws/, 'http')))).json()
  // Miniflare's proxy accepts local tools only, which it tells by their Origin.
  const socket = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: 'http://localhost' } })
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true })
    socket.addEventListener('error', reject, { once: true })
  })
  let nextId = 1
  const pending = new Map()
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data))
    const waiting = pending.get(message.id)
    if (!waiting) return
    pending.delete(message.id)
    if (message.error) waiting.reject(new Error(message.error.message))
    else waiting.resolve(message.result)
  })
  const send = (method, params = {}) => {
    const id = nextId++
    socket.send(JSON.stringify({ id, method, params }))
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }))
  }
  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: 100 })
  return {
    async around(endpoint, run) {
      await send('Profiler.start')
      const result = await run()
      const { profile } = await send('Profiler.stop')
      const dir = path.join(root, 'bench/profiles')
      mkdirSync(dir, { recursive: true })
      writeFileSync(path.join(dir, `${endpoint.name.replace(':', '-')}.cpuprofile`), JSON.stringify(profile))
      console.log(`\n  profile of ${endpoint.label}, top ${PROFILE_TOP} by self time (share of non-idle samples):`)
      for (const entry of topSelfTime(profile, PROFILE_TOP, modules)) console.log(`    ${entry}`)
      return result
    },
    close: () => socket.close(),
  }
}

/** Which module of the bundle each line belongs to, from esbuild's `// path` comments. */
function bundleModules(bundle) {
  const modules = []
  let current = '(bundle)'
  for (const [i, line] of bundle.split('\n').entries()) {
    const comment = /^\/\/ (\S+\.(?:ts|js|mjs))$/.exec(line)
    if (comment) current = comment[1].replace(/^node_modules\//, '')
    modules[i] = current
  }
  return modules
}

/**
 * The functions with the most self time (samples in the function itself), with their share of the
 * samples in which workerd was not idle. A built-in (Response, Headers.set, console.log) is shown
 * with the function of ours or hono's that called it, and each with its module in the bundle.
 */
function topSelfTime(profile, count, modules) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parentOf = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
  const inBundle = (node) => node.callFrame.url.endsWith('.js') && !node.callFrame.url.startsWith('node-internal')
  const describe = (node) => {
    const { functionName, lineNumber } = node.callFrame
    return `${functionName || '(anonymous)'} ${modules[lineNumber] ?? ''}:${lineNumber + 1}`
  }
  const hits = new Map()
  let busy = 0
  for (const id of profile.samples) {
    const node = byId.get(id)
    const name = node.callFrame.functionName
    if (name === '(idle)') continue
    busy++
    let caller = node
    while (caller && !inBundle(caller)) caller = byId.get(parentOf.get(caller.id))
    const key = inBundle(node)
      ? describe(node)
      : caller
        ? `${name || '(native)'} <- ${describe(caller)}`
        : name || '(native)'
    hits.set(key, (hits.get(key) ?? 0) + 1)
  }
  return [...hits]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, n]) => `${((n / busy) * 100).toFixed(1).padStart(5)}%  ${key}`)
}

/**
 * One endpoint under load from bench/load.mjs, a separate process, so the worker keeps its core.
 * `users` spreads the requests over users' tokens, each taken once in turn, where one user could not
 * take them all (the chat row); `settle` waits for what the requests left running after their
 * responses (the webhook row's deliveries), before the CPU is read; `status` is the only status
 * the row accepts, where any 2xx would not do.
 */
async function load(base, { name, label, method, path: urlPath, headers, body, users, settle, status }) {
  const spec = {
    url: `${base}${urlPath}`,
    method,
    headers,
    body,
    connections: Number(opts.connections),
    duration: Number(opts.duration),
    warmup: Number(opts.warmup),
  }
  const run = async (overrides) => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      path.join(root, 'bench/load.mjs'),
      JSON.stringify({ ...spec, ...(users && { tokens: users.tokens, offset: users.next }), ...overrides }),
    ])
    const result = JSON.parse(stdout)
    if (users) {
      users.next += result.sent
      // Past it, a user would start one conversation too many: a 409.
      if (users.next > users.tokens.length * CONVERSATIONS_PER_USER) {
        throw new Error(`${label}: more turns than ${users.tokens.length} users have room for; raise CHAT_USERS`)
      }
    }
    const refused = Object.entries(result.statuses).filter(([code]) =>
      status ? Number(code) !== status : Number(code) >= 300,
    )
    if (result.failed > 0 || result.requests === 0 || refused.length > 0) {
      const statuses = Object.entries(result.statuses).map(([code, n]) => `${n} x ${code}`)
      throw new Error(
        `${label}: ${result.failed} failed requests out of ${result.requests} (statuses: ${statuses.join(', ') || 'none'})`,
      )
    }
    await settle?.(result.requests)
    return result
  }
  // The warm-up runs before the CPU reading: V8 compiles the endpoint's code meanwhile, on workerd's
  // own threads, which would otherwise be charged to whichever endpoint runs first.
  if (spec.warmup > 0) await run({ duration: spec.warmup, warmup: 0 })
  const cpu = workerdCpu()
  const result = await run({ warmup: 0 })
  const cpuSeconds = workerdCpu() - cpu
  return {
    name,
    endpoint: label,
    requestsPerSecond: round(result.requestsPerSecond, 0),
    latencyMs: { p50: round(result.p50, 2), p99: round(result.p99, 2) },
    requests: result.requests,
    ...(cpuSeconds > 0 && { workerdCpuMicrosPerRequest: round((cpuSeconds * 1e6) / result.requests, 0) }),
  }
}

/**
 * The webhook's receiver, in this process: answers every delivery 204 at once and keeps the ids of
 * the events delivered (a delivery is at least once, so an event may come twice).
 */
async function startReceiver() {
  const delivered = new Set()
  let expected = 0
  const server = createServer((req, res) => {
    delivered.add(req.headers['webhook-id'])
    req.resume()
    res.writeHead(204).end()
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    /** Waits until the events of `count` more writes have been delivered. */
    async settle(count) {
      expected += count
      const deadline = Date.now() + SETTLE_SECONDS * 1000
      while (delivered.size < expected) {
        if (Date.now() > deadline) {
          throw new Error(`webhook: ${delivered.size} of ${expected} events delivered after ${SETTLE_SECONDS} s`)
        }
        await sleep(20)
      }
    },
    close() {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

function printTable(results) {
  const rows = results.map((r) => {
    const target = TARGETS[r.name]
    const verdict = target === undefined ? '' : `${percent(target)} ${r.ratioToFloor >= target ? 'met' : 'MISSED'}`
    const cpuTarget = CPU_TARGETS[r.name]
    const cpuVerdict =
      cpuTarget === undefined || r.cpuRatioToFloor === undefined
        ? ''
        : `<= ${cpuTarget.toFixed(1)} ${r.cpuRatioToFloor <= cpuTarget ? 'met' : 'MISSED'}`
    return [
      r.endpoint,
      String(r.requestsPerSecond),
      `${r.latencyMs.p50.toFixed(2)} ms`,
      `${r.latencyMs.p99.toFixed(2)} ms`,
      percent(r.ratioToFloor),
      verdict,
      r.workerdCpuMicrosPerRequest === undefined ? 'n/a' : `${r.workerdCpuMicrosPerRequest} µs`,
      r.cpuRatioToFloor === undefined ? 'n/a' : ratioCell(r),
      cpuVerdict,
      r.rows ? String(r.rows.read) : '',
      r.rows ? String(r.rows.written) : '',
    ]
  })
  const header = [
    'endpoint',
    'req/s',
    'p50',
    'p99',
    'of floor',
    'target (of floor)',
    'CPU/req',
    'CPU x floor',
    'CPU target',
    'rows read',
    'rows written',
  ]
  printMarkdown(header, rows, new Set([0, 5, 8]))
}

/** The median CPU ratio, and its range over the rounds when there were several. */
function ratioCell({ cpuRatioToFloor, cpuRatioRange: [low, high] = [] }) {
  const median = cpuRatioToFloor.toFixed(2)
  return ROUNDS > 1 && low !== undefined ? `${median} (${low.toFixed(2)}-${high.toFixed(2)})` : median
}

/** Every metered request, the writes the load does not run included, with its D1 round trips and their budget. */
function printRows(rows) {
  console.log('\nRows and round trips per request (D1 meta, local D1, real migrations):')
  printMarkdown(
    ['request', 'rows read', 'rows written', 'D1 round trips', 'budget'],
    rows.map((r) => {
      const budget = ROUND_TRIP_BUDGETS[r.name]
      return [
        r.endpoint,
        String(r.rowsRead),
        String(r.rowsWritten),
        String(r.roundTrips),
        budget === undefined ? '' : `<= ${budget} ${r.roundTrips <= budget ? 'met' : 'MISSED'}`,
      ]
    }),
    new Set([0, 4]),
  )
}

function percent(ratio) {
  return `${(ratio * 100).toFixed(0)}%`
}

function round(value, digits) {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}
