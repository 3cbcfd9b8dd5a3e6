/**
 * The worker's side of the fake push service (test/push/global-setup.ts). `routePushToLoopback`
 * sends the worker's https:// requests for the push services' hosts to the fake on loopback,
 * unchanged but for the URL, the way MSW's network mocking (the interception the Workers vitest
 * integration documents) would, without the dependency; all other requests go out as they were.
 */
import { inject, vi } from 'vitest'
import { DEFAULT_PUSH_SERVICE_HOSTS, isAllowedEndpoint } from '../../src/push/endpoint'
import type { ReceivedPush } from './provided'

const service = inject('pushService')
const realFetch = globalThis.fetch

export function routePushToLoopback() {
  return vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init)
    if (!isAllowedEndpoint(request.url, DEFAULT_PUSH_SERVICE_HOSTS)) return realFetch(request)
    const url = new URL(request.url)
    return realFetch(`${service}/${url.host}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: await request.arrayBuffer(),
      redirect: request.redirect,
    })
  })
}

/** What the fake push service received for `endpoint`, oldest first, with the bodies decoded. */
export async function received(endpoint: string): Promise<(ReceivedPush & { bytes: Uint8Array })[]> {
  const url = new URL(endpoint)
  const response = await realFetch(`${service}/__received/${url.host}${url.pathname}`)
  const list = await response.json<ReceivedPush[]>()
  return list.map((push) => ({ ...push, bytes: Uint8Array.from(atob(push.body), (c) => c.charCodeAt(0)) }))
}

/** An endpoint on Chrome's push service, unique to the test; `status` makes the fake answer with it. */
export const chromeEndpoint = (status?: number) =>
  `https://fcm.googleapis.com/fcm/send/${status ? `status-${status}-` : ''}${crypto.randomUUID()}`

/** A fresh VAPID_PRIVATE_KEY value, as `npm run vapid-keys` prints one. */
export async function vapidSecret(): Promise<string> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
  ])) as CryptoKeyPair
  const { kty, crv, x, y, d } = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey
  return JSON.stringify({ kty, crv, x, y, d })
}
