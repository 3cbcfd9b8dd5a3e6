/**
 * Vitest global set-up for the end-to-end tests (runs in Node, in Vitest's own process): one
 * `npm run dev` and one Chromium, which every file but dev-server.e2e.ts (it starts and restarts
 * servers of its own) shares. Starting wrangler dev is most of a file's time, so it is started once
 * per run, by the first file that asks (test/e2e/shared.ts), and stopped after the last file.
 *
 * The server's configuration is the union of what the files need. Where a file brings a loopback
 * server of its own (the page origin of browser.e2e.ts and live.e2e.ts, the chat model, the webhook
 * receiver), the configuration names a relay here instead: a port that forwards to the server the
 * running file registered, and answers on its own while none is.
 *
 * The files reach this process through a control server on loopback, under a random path:
 *   POST   /dev            the shared server's URL (started by the first call)
 *   GET    /dev/output     everything it printed so far
 *   POST   /chromium       the shared Chromium's WebSocket endpoint, for chromium.connect()
 *   PUT    /relay/<name>   forward to the server whose http://127.0.0.1:<port> is the body
 *   DELETE /relay/<name>   stop forwarding
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type BrowserServer, chromium } from 'playwright-core'
import type { TestProject } from 'vitest/node'
import { startDevServer, writeEnvFile } from '../../scripts/dev-server.mjs'
import { CHROMIUM_ARGS, systemChromium } from './chromium'
import type { RelayName, SharedE2e } from './provided'

type DevServer = Awaited<ReturnType<typeof startDevServer>>

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

/** A loopback server that forwards every request to `target`, or answers `idle` while there is none. */
function relay(idle: number) {
  let target: URL | undefined
  const server = createServer((req, res) => {
    if (!target) {
      req.resume()
      res.writeHead(idle).end()
      return
    }
    const forward = request(target, { method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders)
      answer.pipe(res)
    })
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
    req.pipe(forward)
  })
  return { server, setTarget: (url: URL | undefined) => (target = url) }
}

export default async function setup(project: TestProject) {
  const work = mkdtempSync(path.join(tmpdir(), 'tasks-e2e-shared-'))
  const key = randomBytes(16).toString('hex')
  const relays: Record<RelayName, ReturnType<typeof relay>> = {
    pages: relay(404),
    model: relay(503),
    // Other files' task events are taken (and dropped), so that none waits for a retry.
    webhook: relay(200),
  }
  const [pagesPort, modelPort, webhookPort] = await Promise.all(
    [relays.pages, relays.model, relays.webhook].map(({ server }) => listen(server)),
  )
  const shared: Omit<SharedE2e, 'control'> = {
    secret: randomBytes(32).toString('base64url'),
    pagesPort: pagesPort!,
    mcpResource: 'http://localhost:8787/mcp',
    chat: { model: 'local-model', key: `sk-local-${randomBytes(8).toString('hex')}` },
    webhookSecret: `whsec_${randomBytes(32).toString('base64')}`,
  }
  const envFile = writeEnvFile(path.join(work, 'shared.vars'), {
    BETTER_AUTH_SECRET: shared.secret,
    // http://127.0.0.1:<pagesPort> stays unlisted, as does the server's own origin: /docs
    // (docs.e2e.ts) is same-origin and needs no CORS.
    CORS_ORIGINS: `http://localhost:${pagesPort}, https://app.example.com`,
    MCP_RESOURCE_URL: shared.mcpResource,
    CHAT_API_BASE_URL: `http://127.0.0.1:${modelPort}/v1`,
    CHAT_MODEL: shared.chat.model,
    CHAT_API_KEY: shared.chat.key,
    WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/hook`,
    WEBHOOK_SECRET: shared.webhookSecret,
  })

  // Started once, on the first call; a failed start fails every later call at once, with its output.
  let dev: Promise<DevServer> | undefined
  let browser: Promise<BrowserServer> | undefined
  const startDev = () => (dev ??= startDevServer({ persistTo: path.join(work, 'state'), envFile, timeoutMs: 120_000 }))
  const startChromium = () =>
    (browser ??= (async () => {
      // Only files that found Chromium ask for it (systemChromium() there too).
      const executablePath = systemChromium()
      if (!executablePath) throw new Error('no Chromium found')
      return chromium.launchServer({ executablePath, args: CHROMIUM_ARGS })
    })())

  const control = createServer(async (req, res) => {
    const send = (status: number, text = '') =>
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(text)
    const { pathname } = new URL(req.url ?? '/', 'http://control')
    if (!pathname.startsWith(`/${key}/`)) return send(404)
    const route = `${req.method} ${pathname.slice(key.length + 1)}`
    try {
      if (route === 'POST /dev') return send(200, (await startDev()).url)
      if (route === 'GET /dev/output') return dev ? send(200, (await dev).output()) : send(409, 'not started')
      if (route === 'POST /chromium') return send(200, (await startChromium()).wsEndpoint())
      const [, method, name] = /^(PUT|DELETE) \/relay\/(\w+)$/.exec(route) ?? []
      if (!name || !Object.hasOwn(relays, name)) return send(404)
      if (method === 'DELETE') {
        relays[name as RelayName].setTarget(undefined)
        return send(204)
      }
      const target = await readBody(req)
      // Only a server of a test on this machine: the relays are reachable by the worker.
      if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(target)) return send(400, 'a target is http://127.0.0.1:<port>')
      relays[name as RelayName].setTarget(new URL(target))
      return send(204)
    } catch (error) {
      return send(500, error instanceof Error ? error.message : String(error))
    }
  })
  const controlPort = await listen(control)
  project.provide('e2e', { ...shared, control: `http://127.0.0.1:${controlPort}/${key}` })

  return async () => {
    await Promise.allSettled([
      browser?.then((server) => server.close()),
      dev?.then((server) => server.stop()),
      close(control),
      ...Object.values(relays).map(({ server }) => close(server)),
    ])
    rmSync(work, { recursive: true, force: true })
  }
}
