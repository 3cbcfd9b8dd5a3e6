/**
 * GET /docs in a real browser: only a browser enforces the Content-Security-Policy and runs the
 * page's scripts (Swagger UI), so this is where "loads nothing from another origin" and "try it works" are proved.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devToken } from '../../scripts/dev-server.mjs'
import { systemChromium } from './chromium'
import { type SharedDev, shared, sharedChromium, sharedDev } from './shared'

const executablePath = systemChromium()
// Swagger UI renders the whole document; on a loaded machine a flow of several requests outlasts the default.
const IN_BROWSER = 60_000

describe.skipIf(!executablePath)('the API reference at /docs, in Chromium', () => {
  // The page is served from the server's own origin, which CORS_ORIGINS does not list: it needs no CORS.
  let dev: SharedDev | undefined
  let browser: Browser | undefined
  let token = ''

  beforeAll(async () => {
    ;[dev, browser] = await Promise.all([sharedDev(), sharedChromium()])
    token = devToken('docs-user', shared.secret)
  })

  afterAll(async () => {
    await browser?.close()
  })

  /** The page, with every request it made and every script error or CSP violation it hit. */
  async function openDocs(): Promise<{ page: Page; requests: string[]; problems: string[] }> {
    const page = await (await browser!.newContext()).newPage()
    page.setDefaultTimeout(10_000)
    const requests: string[] = []
    const problems: string[] = []
    page.on('request', (r) => requests.push(r.url()))
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
    // CSP violations are reported as console errors.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`)
    })
    await page.goto(`${dev!.url}/docs`)
    await page.waitForSelector('.opblock[id$="-createTask"]')
    return { page, requests, problems }
  }

  /** Swagger UI's block for one operation, opened. */
  async function operation(page: Page, operationId: string) {
    const op = page.locator(`.opblock[id$="-${operationId}"]`)
    if ((await op.locator('.opblock-body').count()) === 0) await op.locator('.opblock-summary-control').click()
    // Swagger UI opens the block in a later render: wait for it, or a read right after the click sees the summary only.
    await op.locator('.opblock-body').waitFor()
    return op
  }

  /** Swagger UI's "Authorize": the bearer token it then sends with every protected operation. */
  async function authorize(page: Page, bearer: string) {
    await page.locator('.auth-wrapper .authorize').click()
    await page.locator('.modal-ux input#auth-bearer-value').fill(bearer)
    await page.locator('.modal-ux button[type=submit]').click()
    await page.locator('.modal-ux .btn-done').click()
  }

  /** Fills the operation's "Try it out" form, executes it, and returns the status and what the page shows. */
  async function tryIt(page: Page, operationId: string, fields: Record<string, string>, body?: unknown) {
    const op = await operation(page, operationId)
    if ((await op.locator('button.execute').count()) === 0) await op.locator('.try-out__btn').click()
    for (const [name, value] of Object.entries(fields))
      await op.locator(`tr[data-param-name="${name}"] input`).fill(value)
    if (body !== undefined) await op.locator('textarea.body-param__text').fill(JSON.stringify(body))
    // Clear the previous response, so that the one awaited below is this request's.
    if ((await op.locator('button.btn-clear').count()) > 0) await op.locator('button.btn-clear').click()
    await op.locator('button.execute').click()
    const response = op.locator('.live-responses-table tr.response')
    await response.waitFor()
    return {
      status: await response.locator('.response-col_status').textContent(),
      text: (await op.locator('.live-responses-table').textContent()) ?? '',
    }
  }

  it('serves the page and its files from this origin, under a CSP that allows nothing else', async () => {
    const page = await fetch(`${dev!.url}/docs`)
    expect(page.status).toBe(200)
    expect(page.headers.get('Content-Type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('Cache-Control')).toBe('public, max-age=300')
    expect(page.headers.get('Referrer-Policy')).toBe('no-referrer')
    expect(page.headers.get('X-Content-Type-Options')).toBe('nosniff')
    const csp = Object.fromEntries(
      page.headers
        .get('Content-Security-Policy')!
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    )
    expect(csp['default-src']).toEqual(["'none'"])
    for (const directive of ['script-src', 'style-src', 'connect-src'])
      expect(csp[directive], directive).toEqual(["'self'"])
    // Swagger UI's style sheet draws its icons with data: SVGs.
    expect(csp['img-src']).toEqual(["'self'", 'data:'])
    expect(csp['frame-ancestors']).toEqual(["'none'"])
    expect(csp['base-uri']).toEqual(["'none'"])
    expect(csp['form-action']).toEqual(["'none'"])

    const html = await page.text()
    const files = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]!)
    expect(files.sort()).toEqual([
      '/docs/favicon.svg',
      '/docs/init.js',
      '/docs/swagger-ui-bundle.js',
      '/docs/swagger-ui.css',
    ])
    const init = await (await fetch(`${dev!.url}/docs/init.js`)).text()
    for (const text of [html, init]) expect(text).not.toMatch(/\bhttps?:\/\/|["'(]\/\/|@import/)
    expect(init).toContain("url: '/openapi.json'")
    for (const [file, type] of [
      ['/docs/init.js', 'text/javascript; charset=utf-8'],
      ['/docs/swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
      ['/docs/swagger-ui.css', 'text/css; charset=utf-8'],
      ['/docs/favicon.svg', 'image/svg+xml'],
    ]) {
      const res = await fetch(`${dev!.url}${file}`)
      expect(res.status, file).toBe(200)
      expect(res.headers.get('Content-Type'), file).toBe(type)
      expect(res.headers.get('X-Content-Type-Options'), file).toBe('nosniff')
      expect(res.headers.get('Cache-Control'), file).toBe('public, max-age=300')
    }
  })

  it('needs no token for the page, and answers 405 to other methods', async () => {
    for (const file of ['/docs', '/docs/init.js', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']) {
      expect((await fetch(`${dev!.url}${file}`, { method: 'HEAD' })).status, file).toBe(200)
      const res = await fetch(`${dev!.url}${file}`, { method: 'POST' })
      expect(res.status, file).toBe(405)
      expect(res.headers.get('Allow'), file).toBe('GET, HEAD')
    }
  })

  it('leaves the API, unknown paths included, to the worker', async () => {
    const unknown = await fetch(`${dev!.url}/docs/nothing-here`)
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('Content-Type')).toBe('application/problem+json')
    expect(unknown.headers.get('Content-Security-Policy')).toBeNull()
    const health = await fetch(`${dev!.url}/health`)
    expect(health.status).toBe(200)
    expect(health.headers.get('Cache-Control')).toBe('no-store')
    expect(await health.json()).toEqual({ status: 'ok' })
    const me = await fetch(`${dev!.url}/me`, { headers: { Authorization: `Bearer ${token}` } })
    expect(me.status).toBe(200)
    expect(await me.json()).toMatchObject({ sub: 'docs-user' })
    const wrongMethod = await fetch(`${dev!.url}/me`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } })
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers.get('Content-Type')).toBe('application/problem+json')
    const document = await fetch(`${dev!.url}/openapi.json`)
    expect(document.headers.get('Content-Type')).toBe('application/json')
    expect(document.headers.get('Content-Security-Policy')).toBeNull()
  })

  it(
    'renders every operation, schema and problem type, loading nothing from another origin',
    async () => {
      const { page, requests, problems } = await openDocs()
      const doc = (await (await fetch(`${dev!.url}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { operationId: string; tags: string[] }>>
        components: { schemas: object }
        'x-problem-types': { type: string }[]
      }
      const operations = Object.values(doc.paths).flatMap((item) => Object.values(item))
      expect(await page.locator('.opblock').count()).toBe(operations.length)
      for (const { operationId, tags } of operations)
        await expect(page.locator(`#operations-${tags[0]}-${operationId}`).count()).resolves.toBe(1)
      const schemas = await page.locator('section.models .json-schema-2020-12__title').allTextContents()
      expect(schemas.sort()).toEqual(Object.keys(doc.components.schemas).sort())
      const problemRows = await page.locator('.info table tbody tr').allTextContents()
      expect(problemRows).toHaveLength(doc['x-problem-types'].length)
      for (const { type } of doc['x-problem-types']) expect(problemRows.join('\n')).toContain(type)
      const createTask = await operation(page, 'createTask')
      await expect.poll(() => createTask.textContent()).toContain('idempotency-key')
      expect(
        requests.every((url) => url.startsWith(`${dev!.url}/`)),
        requests.join('\n'),
      ).toBe(true)
      expect(problems).toEqual([])
    },
    IN_BROWSER,
  )

  it(
    'creates a task with a token and an Idempotency-Key, replays it, and shows problems',
    async () => {
      const { page, problems } = await openDocs()
      await authorize(page, token)
      const key = `docs-${Date.now()}`
      const created = await tryIt(page, 'createTask', { 'idempotency-key': key }, { title: 'From the reference' })
      expect(created.status).toMatch(/^201/)
      expect(created.text).toContain('"title": "From the reference"')
      const replayed = await tryIt(page, 'createTask', {}, { title: 'From the reference' })
      expect(replayed.status).toMatch(/^201/)
      expect(replayed.text).toContain('idempotent-replayed: true')

      const listed = await tryIt(page, 'listTasks', { limit: '5' })
      expect(listed.status).toMatch(/^200/)
      expect(listed.text).toContain('From the reference')

      const missing = await tryIt(page, 'getTask', { id: crypto.randomUUID() })
      expect(missing.status).toMatch(/^404/)
      expect(missing.text).toContain('/problems/not-found')
      expect(problems).toEqual([])
    },
    IN_BROWSER,
  )

  it(
    'gets a 401 without a token',
    async () => {
      const { page } = await openDocs()
      const res = await tryIt(page, 'getMe', {})
      expect(res.status).toMatch(/^401/)
      expect(res.text).toContain('/problems/unauthorized')
    },
    IN_BROWSER,
  )
})
