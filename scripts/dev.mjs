// `npm run dev`: .dev.vars (created if missing), local D1 migrated, then `wrangler dev` behind a
// front door on localhost:8787 (or `--ip`, `--port`).
// Extra arguments go to `wrangler dev`, e.g. `npm run dev -- --env loadtest`. A `--persist-to <dir>`
// among them goes to the migrations too, so that the database wrangler dev opens has the schema.
//
// wrangler dev serves Miniflare's /cdn-cgi/ endpoints on the worker's own port, unauthenticated and
// to any web page: the Local Explorer (SQL over every user's data; off with X_LOCAL_EXPLORER=false)
// and the scheduled trigger (no switch in wrangler 4.156), which runs the purges. So wrangler dev
// listens on a private port and this script forwards everything but /cdn-cgi/ to it. With
// `--test-scheduled`, /__scheduled and /cdn-cgi/local/scheduled are forwarded too (docs/dev-server.md).
import { spawn } from 'node:child_process'
import http from 'node:http'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { ensureDevVars, migrateLocal, root, wrangler } from './dev-vars.mjs'

const env = {
  // The API never reads request.cf; without this, every start tries to download it from Cloudflare.
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  ...process.env,
  // Not overridable: the explorer answers any local process, or any web page, with every user's rows.
  X_LOCAL_EXPLORER: 'false',
  // .dev.vars and the migrations are done below, for this server's state: the [build] step skips them.
  TASKS_DEV_PREPARED: '1',
}

ensureDevVars()

const options = {
  'persist-to': { type: 'string' },
  env: { type: 'string' },
  ip: { type: 'string' },
  port: { type: 'string' },
  'test-scheduled': { type: 'boolean' },
}
const args = process.argv.slice(2)
const { values, tokens } = parseArgs({ args, strict: false, tokens: true, options })
// The migrations go to the database wrangler dev opens: the same state directory and environment.
const migrateArgs = [
  ...(typeof values['persist-to'] === 'string' ? ['--persist-to', values['persist-to']] : []),
  ...(typeof values.env === 'string' ? ['--env', values.env] : []),
]
const host = typeof values.ip === 'string' ? values.ip : 'localhost'
const port = Number(typeof values.port === 'string' ? values.port : 8787)
const testScheduled = values['test-scheduled'] === true
// Everything but --ip and --port goes to wrangler dev, which listens where only this script connects.
const taken = new Set()
for (const t of tokens) {
  if (t.kind !== 'option' || (t.name !== 'ip' && t.name !== 'port')) continue
  taken.add(t.index)
  if (t.inlineValue === false) taken.add(t.index + 1)
}
const wranglerArgs = args.filter((_, i) => !taken.has(i))

// The same migrations the tests and production use; local state persists in .wrangler/state.
const migrated = migrateLocal(migrateArgs, env)
if (migrated !== 0) process.exit(migrated)

const dev = spawn(process.execPath, [wrangler, 'dev', ...wranglerArgs, '--ip', '127.0.0.1', '--port', '0'], {
  cwd: root,
  env,
  stdio: ['inherit', 'pipe', 'inherit'],
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal))
dev.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))

const SCHEDULED = new Set(['/__scheduled', '/cdn-cgi/local/scheduled'])
const refused = (path) =>
  (path.startsWith('/cdn-cgi/') || path === '/__scheduled') && !(testScheduled && SCHEDULED.has(path))

let upstream
// Node's http module forwards as-is (bodies streamed, headers raw): the proxy is only a path filter.
const door = http.createServer((req, res) => {
  // The path is checked and forwarded as the URL parser normalises it (dot segments, backslashes),
  // so that what is checked is exactly what wrangler dev receives.
  const href = req.url.startsWith('/') ? `http://door${req.url}` : req.url
  if (!URL.canParse(href)) {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Bad request target.\n')
    return
  }
  const url = new URL(href)
  if (refused(url.pathname)) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not served by npm run dev (docs/dev-server.md).\n')
    return
  }
  const target = { method: req.method, path: `${url.pathname}${url.search}`, headers: req.headers }
  const forward = http.request(upstream, target, (answer) => {
    res.writeHead(answer.statusCode, answer.statusMessage, answer.rawHeaders)
    answer.pipe(res)
  })
  forward.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' })
    res.end(`wrangler dev did not answer: ${error.message}\n`)
  })
  req.pipe(forward)
})

// WebSockets (GET /tasks/live) arrive as upgrades, which the request handler above never sees: the
// same path filter, then the handshake forwarded, and after a 101 the two sockets piped together.
door.on('upgrade', (req, socket, head) => {
  const href = req.url.startsWith('/') ? `http://door${req.url}` : req.url
  if (!URL.canParse(href) || refused(new URL(href).pathname)) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
    return
  }
  const url = new URL(href)
  const target = { method: req.method, path: `${url.pathname}${url.search}`, headers: req.headers }
  const forward = http.request(upstream, target)
  forward.on('upgrade', (answer, upstreamSocket, upstreamHead) => {
    socket.write(responseHead(answer.statusCode, answer.statusMessage, answer.rawHeaders))
    if (upstreamHead.length > 0) socket.write(upstreamHead)
    if (head.length > 0) upstreamSocket.write(head)
    upstreamSocket.pipe(socket).pipe(upstreamSocket)
    for (const [one, other] of [
      [socket, upstreamSocket],
      [upstreamSocket, socket],
    ]) {
      one.on('error', () => other.destroy())
      one.on('close', () => other.destroy())
    }
  })
  // Refused before the upgrade (401, 403, 426, 429): the problem is passed on, then the connection closed.
  forward.on('response', async (answer) => {
    const chunks = []
    for await (const chunk of answer) chunks.push(chunk)
    const body = Buffer.concat(chunks)
    const kept = []
    for (let i = 0; i < answer.rawHeaders.length; i += 2) {
      const name = answer.rawHeaders[i]
      if (!/^(content-length|transfer-encoding|connection)$/i.test(name)) kept.push(name, answer.rawHeaders[i + 1])
    }
    kept.push('Content-Length', String(body.length), 'Connection', 'close')
    socket.end(Buffer.concat([Buffer.from(responseHead(answer.statusCode, answer.statusMessage, kept)), body]))
  })
  forward.on('error', (error) => {
    const text = `wrangler dev did not answer: ${error.message}\n`
    socket.end(
      `HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    )
  })
  socket.on('error', () => forward.destroy())
  forward.end()
})

/** An HTTP/1.1 status line and these raw headers (name, value, name, value...), ending the head. */
function responseHead(status, message, rawHeaders) {
  const lines = [`HTTP/1.1 ${status} ${message}`]
  for (let i = 0; i < rawHeaders.length; i += 2) lines.push(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}

// wrangler's output names its private port; say where the front door is, and how to run the purges.
createInterface({ input: dev.stdout }).on('line', (line) => {
  if (line.includes('/cdn-cgi/local/scheduled')) {
    return console.log('    npm run dev -- --test-scheduled, then curl <url>/__scheduled (docs/dev-server.md)')
  }
  const ready = /Ready on (http:\/\/\S+)/.exec(line)
  if (!ready || upstream) return console.log(line)
  upstream = new URL(ready[1])
  door.listen(port, host, () => {
    const { port: bound } = door.address()
    console.log(`Ready on http://${host.includes(':') ? `[${host}]` : host}:${bound}`)
  })
})
door.on('error', (error) => {
  console.error(`npm run dev: cannot listen on ${host}:${port}: ${error.message}`)
  dev.kill('SIGINT')
})
