/**
 * The shared `npm run dev`, Chromium and relays of test/e2e/global-setup.ts, as a test file uses
 * them. Files run one at a time (vitest.e2e.config.ts), so a file has the server to itself; its
 * users are its own (a `sub` no other file uses).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Browser, chromium } from 'playwright-core'
import { inject } from 'vitest'
import type { RelayName } from './provided'

export const shared = inject('e2e')

async function control(method: string, path: string, body?: string): Promise<string> {
  const res = await fetch(`${shared.control}${path}`, { method, ...(body !== undefined && { body }) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path} to the e2e set-up: ${res.status} ${text}`)
  return text
}

export interface SharedDev {
  url: string
  /** Everything the server printed so far, this run's earlier files included. */
  output(): Promise<string>
}

/** The shared `npm run dev`, started by the first file that asks. */
export async function sharedDev(): Promise<SharedDev> {
  const url = await control('POST', '/dev')
  return { url, output: () => control('GET', '/dev/output') }
}

/** A connection to the shared Chromium; closing it closes the contexts this file opened. */
export async function sharedChromium(): Promise<Browser> {
  return chromium.connect(await control('POST', '/chromium'))
}

/**
 * Sends what reaches the `name` relay to this file's server on 127.0.0.1:`port`, until the returned
 * function is called.
 */
export async function relayTo(name: RelayName, port: number): Promise<() => Promise<void>> {
  await control('PUT', `/relay/${name}`, `http://127.0.0.1:${port}`)
  return async () => void (await control('DELETE', `/relay/${name}`))
}

/**
 * Serves `html` (and a 404 for the favicon) on a free loopback port behind the `pages` relay, the
 * page origin CORS_ORIGINS lists, until the returned function is called.
 */
export async function servePage(html: string | Buffer): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    if (req.url === '/favicon.ico') return res.writeHead(404).end()
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const release = await relayTo('pages', (server.address() as AddressInfo).port)
  return async () => {
    await release()
    server.close()
  }
}
