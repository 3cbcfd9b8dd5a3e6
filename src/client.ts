/**
 * A typed client for frontends: `hono/client` over this app's own route types (AppType), so the
 * request bodies, query parameters, headers and responses are checked at compile time.
 *
 *   import { createClient } from 'tasks-api/client'
 *   const api = createClient('https://tasks.example.com', { token: () => session.token })
 *   const res = await api.tasks.$post({ json: { title: 'Pay rent' }, header: { 'idempotency-key': crypto.randomUUID() } })
 *   if (res.status === 201) { const task = await res.json() }
 *
 * Only types come from the server code: this module's runtime is hono/client alone.
 */
import { hc } from 'hono/client'
import type { AppType } from './app'

export interface ClientOptions {
  /** The bearer token, or a function that returns the current one (called for every request). */
  token?: string | (() => string | undefined | Promise<string | undefined>)
  /** Defaults to the global fetch. In tests: `(input, init) => exports.default.fetch(input, init)`. */
  fetch?: typeof fetch
}

export function createClient(baseUrl: string, { token, fetch }: ClientOptions = {}) {
  return hc<AppType>(baseUrl, {
    ...(fetch && { fetch }),
    headers: async (): Promise<Record<string, string>> => {
      const value = typeof token === 'function' ? await token() : token
      return value ? { Authorization: `Bearer ${value}` } : {}
    },
  })
}

export type Client = ReturnType<typeof createClient>
