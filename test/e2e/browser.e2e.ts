/**
 * The API as a browser sees it: Chromium loads a page from one origin and its JavaScript calls the
 * worker (`npm run dev`, on another origin) with fetch. Only a real browser enforces CORS, so this
 * is where preflights, exposed headers and the blocking of unlisted origins are proved.
 *
 * No Playwright routing (page.route): while any route is set, Playwright answers every CORS
 * preflight itself with a permissive 204, and the worker's CORS would never be exercised.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devToken } from '../../scripts/dev-server.mjs'
import { systemChromium } from './chromium'
import { type SharedDev, servePage, shared, sharedChromium, sharedDev } from './shared'

const executablePath = systemChromium()
const PAGE = readFileSync(path.join(import.meta.dirname, 'page.html'))

/** What page JavaScript saw of one fetch (see callApi in page.html). */
interface Seen {
  status?: number
  headers?: Record<string, string>
  // biome-ignore lint/suspicious/noExplicitAny: whatever JSON the page read; each test asserts its shape
  body?: any
  error?: { name: string; message: string }
}

/** The functions page.html defines. */
interface PageScript {
  callApi(base: string, token: string, method: string, path: string, body?: unknown): Promise<Seen>
  simpleGet(url: string): Promise<Seen>
  frontendSession(apiBase: string, token: string): Promise<{ steps?: Seen[]; error?: Seen['error'] }>
}

/** One request as Chromium's network stack saw it, before CORS decided what JS may read. */
interface Exchange {
  method: string
  url: string
  preflight: boolean
  requestHeaders: Record<string, string>
  status?: number
  headers?: Record<string, string>
  corsError?: string
}

const lowerKeys = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))

describe.skipIf(!executablePath)('the API called from a page in Chromium', () => {
  // The page relay, listed in the shared server's CORS_ORIGINS (with https://app.example.com).
  const listedOrigin = `http://localhost:${shared.pagesPort}`
  // The same relay and port, but another origin: not in CORS_ORIGINS.
  const unlistedOrigin = `http://127.0.0.1:${shared.pagesPort}`
  let release: (() => Promise<void>) | undefined
  let dev: SharedDev | undefined
  let browser: Browser | undefined
  let token = ''

  beforeAll(async () => {
    release = await servePage(PAGE)
    ;[dev, browser] = await Promise.all([sharedDev(), sharedChromium()])
    token = devToken('browser-user', shared.secret)
  })

  afterAll(async () => {
    await browser?.close()
    await release?.()
  })

  /** A fresh browser context (no shared preflight cache) with the page from `origin` loaded. */
  async function openPage(origin: string): Promise<{ page: Page; network: Exchange[] }> {
    const context = await browser!.newContext()
    const page = await context.newPage()
    page.setDefaultTimeout(10_000)
    const network: Exchange[] = []
    const byId = new Map<string, Exchange>()
    const cdp = await context.newCDPSession(page)
    cdp.on('Network.requestWillBeSent', (event) => {
      const exchange: Exchange = {
        method: event.request.method,
        url: event.request.url,
        preflight: event.initiator.type === 'preflight',
        requestHeaders: lowerKeys(event.request.headers),
      }
      byId.set(event.requestId, exchange)
      network.push(exchange)
    })
    cdp.on('Network.responseReceived', (event) => {
      const exchange = byId.get(event.requestId)
      if (exchange)
        Object.assign(exchange, { status: event.response.status, headers: lowerKeys(event.response.headers) })
    })
    cdp.on('Network.loadingFailed', (event) => {
      const exchange = byId.get(event.requestId)
      if (exchange && event.corsErrorStatus) exchange.corsError = event.corsErrorStatus.corsError
    })
    await cdp.send('Network.enable')
    await page.goto(`${origin}/`)
    return { page, network }
  }

  const callApi = (page: Page, method: string, path: string, body?: unknown): Promise<Seen> =>
    page.evaluate(
      ([base, token, method, path, body]) =>
        (globalThis as unknown as PageScript).callApi(base, token, method, path, body),
      [dev!.url, token, method, path, body] as const,
    )

  const apiRequests = (network: Exchange[], method: string, path: string) =>
    network.filter(
      (x) =>
        x.url === `${dev!.url}${path}` &&
        (x.preflight ? x.requestHeaders['access-control-request-method'] : x.method) === method,
    )

  it('creates, lists, patches and deletes a task from a listed origin, each preflighted, and reads the exposed headers', async () => {
    const { page, network } = await openPage(listedOrigin)
    // The server's log holds earlier files' requests too: only what follows counts.
    const logFrom = (await dev!.output()).length

    const created = await callApi(page, 'POST', '/tasks', { title: 'Written by a browser', tags: ['e2e'] })
    expect(created.error).toBeUndefined()
    expect(created.status).toBe(201)
    const id: string = created.body.id
    expect(created.body).toMatchObject({ title: 'Written by a browser', tags: ['e2e'], completed: false })
    expect(created.headers?.location).toBe(`/tasks/${id}`)
    expect(created.headers?.['x-request-id']).toMatch(/\S/)

    // JS reads every header the worker sent and exposed, and no other (but the CORS-safelisted).
    const post = apiRequests(network, 'POST', '/tasks').find((x) => !x.preflight)
    const sent = post?.headers ?? {}
    const exposed = (sent['access-control-expose-headers'] ?? '').toLowerCase().split(',')
    expect(exposed).toEqual(expect.arrayContaining(['location', 'x-request-id', 'etag', 'retry-after']))
    for (const name of exposed.filter((name) => name in sent)) expect(created.headers?.[name], name).toBe(sent[name])
    expect(sent['x-content-type-options']).toBe('nosniff')
    expect(created.headers?.['x-content-type-options']).toBeUndefined()

    const list = await callApi(page, 'GET', '/tasks')
    expect(list.status).toBe(200)
    expect(list.body.items.map((task: { id: string }) => task.id)).toContain(id)

    const patched = await callApi(page, 'PATCH', `/tasks/${id}`, { completed: true })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ id, completed: true, completedAt: expect.any(String) })

    const deleted = await callApi(page, 'DELETE', `/tasks/${id}`)
    expect(deleted).toMatchObject({ status: 204, body: null })
    const gone = await callApi(page, 'GET', `/tasks/${id}`)
    expect(gone.status).toBe(404)
    expect(gone.headers?.['content-type']).toMatch(/^application\/problem\+json/)

    // One preflight per URL, granted to this origin; later calls to a URL reuse the cached grant
    // (Access-Control-Max-Age), which covers every method and header the API takes.
    const preflights = network.filter((x) => x.preflight)
    const described = preflights.map(
      (x) => `${x.requestHeaders['access-control-request-method']} ${x.url.slice(dev!.url.length)}`,
    )
    expect(described).toEqual(['POST /tasks', `PATCH /tasks/${id}`])
    for (const preflight of preflights) {
      expect(preflight).toMatchObject({ status: 204, requestHeaders: { origin: listedOrigin } })
      expect(preflight.headers?.['access-control-allow-origin']).toBe(listedOrigin)
      expect(preflight.requestHeaders['access-control-request-headers']).toMatch(/authorization/)
    }
    // The preflights reached the worker: nothing between the browser and it answered them.
    await expect.poll(async () => (await dev!.output()).slice(logFrom)).toMatch(/OPTIONS \/tasks 204/)
  })

  it('blocks an unlisted origin: the preflight grants nothing, fetch rejects with a TypeError and no task is created', async () => {
    const { page, network } = await openPage(unlistedOrigin)
    const logFrom = (await dev!.output()).length

    const attempt = await callApi(page, 'POST', '/tasks', { title: 'Written from an unlisted origin' })
    expect(attempt).toEqual({ error: { name: 'TypeError', message: expect.any(String) } })
    const read = await callApi(page, 'GET', '/tasks')
    expect(read).toEqual({ error: { name: 'TypeError', message: expect.any(String) } })

    // Chromium's own account: the worker answered the preflight without granting this origin, so
    // the POST itself was never sent.
    const attempts = apiRequests(network, 'POST', '/tasks')
    const preflight = attempts.find((x) => x.preflight)
    const post = attempts.find((x) => !x.preflight)
    expect(preflight).toMatchObject({ status: 204, requestHeaders: { origin: unlistedOrigin } })
    expect(preflight?.headers).not.toHaveProperty('access-control-allow-origin')
    await expect.poll(() => post?.corsError).toBe('PreflightMissingAllowOriginHeader')
    expect(post?.status).toBeUndefined()
    await expect.poll(async () => (await dev!.output()).slice(logFrom)).toMatch(/OPTIONS \/tasks 204/)
    expect((await dev!.output()).slice(logFrom)).not.toMatch(/POST \/tasks/)

    // And nothing was stored (Node's fetch knows no CORS).
    const stored = await fetch(`${dev!.url}/tasks`, { headers: { Authorization: `Bearer ${token}` } })
    const { items } = (await stored.json()) as { items: { title: string }[] }
    expect(items.map((task) => task.title)).not.toContain('Written from an unlisted origin')
  })

  it("serves a FastAPI-contract frontend that fetches with credentials: 'include' from a listed origin", async () => {
    const { page, network } = await openPage(listedOrigin)
    const apiBase = `${dev!.url}/api/browser-user`
    const seen = await page.evaluate(
      ([base, token]) => (globalThis as unknown as PageScript).frontendSession(base, token),
      [apiBase, token] as const,
    )
    expect(seen.error).toBeUndefined()
    const steps = seen.steps!
    expect(steps.map((step) => step.status)).toEqual([200, 201, 200, 200, 200, 200])
    const id = steps[1]!.body.id
    expect(id).toEqual(expect.any(Number))
    expect(steps[2]!.body).toMatchObject({ id, completed: true, user_id: 'browser-user' })
    expect(steps[3]!.body).toMatchObject({ id, title: 'Edited in a browser', completed: true })
    expect(steps[4]!.body).toEqual({ message: 'Task deleted' })
    expect(steps[5]!.body.map((task: { id: number }) => task.id)).not.toContain(id)

    // Every answer, preflights included, granted this origin credentials; the browser checked each.
    const exchanges = network.filter((x) => x.url.startsWith(apiBase))
    expect(exchanges.filter((x) => x.preflight).length).toBeGreaterThan(0)
    for (const x of exchanges) {
      expect(x.corsError, x.url).toBeUndefined()
      expect(x.headers?.['access-control-allow-origin'], x.url).toBe(listedOrigin)
      expect(x.headers?.['access-control-allow-credentials'], x.url).toBe('true')
    }
  })

  it("refuses that frontend from an unlisted origin: fetch with credentials: 'include' rejects", async () => {
    const { page } = await openPage(unlistedOrigin)
    const seen = await page.evaluate(
      ([base, token]) => (globalThis as unknown as PageScript).frontendSession(base, token),
      [`${dev!.url}/api/browser-user`, token] as const,
    )
    expect(seen).toEqual({ error: { name: 'TypeError', message: expect.any(String) } })
  })

  it('hides from an unlisted origin a response the worker did send, and shows it to a listed one', async () => {
    const health = `${dev?.url}/health`
    const blocked = await openPage(unlistedOrigin)
    const logFrom = (await dev!.output()).length
    const hidden = await blocked.page.evaluate((url) => (globalThis as unknown as PageScript).simpleGet(url), health)
    expect(hidden).toEqual({ error: { name: 'TypeError', message: expect.any(String) } })
    // No preflight for a plain GET: the worker answered 200, and the browser withheld the response.
    const [get] = blocked.network.filter((x) => x.url === health)
    await expect.poll(() => get?.corsError).toBe('MissingAllowOriginHeader')
    expect(get?.preflight).toBe(false)
    await expect.poll(async () => (await dev!.output()).slice(logFrom)).toMatch(/GET \/health 200/)

    const allowed = await openPage(listedOrigin)
    const shown = await allowed.page.evaluate((url) => (globalThis as unknown as PageScript).simpleGet(url), health)
    expect(shown).toEqual({ status: 200, body: '{"status":"ok"}' })
  })
})
