/**
 * Vitest global set-up (runs in Node, not workerd): a fake push service on loopback. It accepts any
 * POST as a push message and records it; a path containing `status-NNN` is answered with that status
 * (410 for an expired subscription, 429 or 503 for an overloaded service), anything else with 201 as
 * RFC 8030 5 says. `GET /__received/<path>` returns what was posted to `/<path>`.
 *
 * The worker reaches it through test/push/service.ts, which sends its requests for the real push
 * services' hosts here, so the worker's own allow-list stays https:// only.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestProject } from 'vitest/node'
import type { ReceivedPush } from './provided'

export default async function setup(project: TestProject) {
  const received = new Map<string, ReceivedPush[]>()
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const path = new URL(req.url ?? '/', 'http://fake').pathname
    if (req.method === 'GET' && path.startsWith('/__received/')) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(received.get(path.slice('/__received'.length)) ?? []))
      return
    }
    const status = Number(/status-(\d{3})/.exec(path)?.[1] ?? (req.method === 'POST' ? 201 : 405))
    const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, String(value)]))
    const record = { method: req.method ?? '', path, headers, body: Buffer.concat(chunks).toString('base64'), status }
    received.set(path, [...(received.get(path) ?? []), record])
    res.writeHead(status, status === 201 ? { location: `/message/${crypto.randomUUID()}` } : {})
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  project.provide('pushService', `http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
}
