// The load generator: runs in its own process (spawned by bench/run.mjs) so that its CPU is not
// the worker's. Warms up, then loads one endpoint for a fixed time and prints one JSON line, with
// the count of each status answered. Given `tokens`, each request is sent with the next one in
// turn, from `offset` on, and `sent` says how many were taken.
//
// autocannon's own percentiles are whole milliseconds, too coarse for sub-millisecond answers,
// so each response time (a float, from process.hrtime) is kept and ranked here.
import autocannon from 'autocannon'

const { url, method, headers, body, connections, duration, warmup, tokens, offset = 0 } = JSON.parse(process.argv[2])
let sent = 0
// autocannon builds each request with setupRequest: `sent` counts those built, a few more than were sent.
const nextUser = (request) => {
  request.headers.Authorization = `Bearer ${tokens[(offset + sent++) % tokens.length]}`
  return request
}
const options = {
  url,
  method,
  headers,
  body,
  connections,
  duration,
  ...(tokens && { requests: [{ setupRequest: nextUser }] }),
}

const run = (opts, onResponse) =>
  new Promise((resolve, reject) => {
    const instance = autocannon(opts, (error, result) => (error ? reject(error) : resolve(result)))
    if (onResponse) instance.on('response', onResponse)
  })

const warmupResult = warmup > 0 ? await run({ ...options, duration: warmup }) : undefined

const latencies = []
const statuses = {}
const result = await run(options, (_client, statusCode, _bytes, ms) => {
  statuses[statusCode] = (statuses[statusCode] ?? 0) + 1
  if (statusCode < 300) latencies.push(ms)
})
latencies.sort((a, b) => a - b)
const percentile = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN

console.log(
  JSON.stringify({
    requestsPerSecond: result['2xx'] / result.duration,
    p50: percentile(50),
    p99: percentile(99),
    requests: result.requests.total,
    warmupRequests: warmupResult?.requests.total ?? 0,
    failed: result.errors + result.timeouts + result.non2xx,
    statuses,
    sent,
  }),
)
