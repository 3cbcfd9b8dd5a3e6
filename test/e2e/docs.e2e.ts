/**
 * GET /docs in a real browser: only a browser enforces the Content-Security-Policy and runs the
 * page's script, so this is where "loads nothing from another origin" and "try it works" are proved.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devToken, type startDevServer } from '../../scripts/dev-server.mjs'
import { startDevAndChromium, systemChromium } from './chromium'

const executablePath = systemChromium()

describe.skipIf(!executablePath)('the API reference at /docs, in Chromium', () => {
  const secret = randomBytes(32).toString('base64url')
  let work = ''
  let dev: Awaited<ReturnType<typeof startDevServer>> | undefined
  let browser: Browser | undefined
  let stop: (() => Promise<void>) | undefined
  let token = ''

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'tasks-e2e-docs-'))
    ;({ dev, browser, stop } = await startDevAndChromium(executablePath!, work, {
      BETTER_AUTH_SECRET: secret,
      CORS_ORIGINS: '',
    }))
    token = devToken('docs-user', secret)
  }, 90_000)

  afterAll(async () => {
    await stop?.()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  /** The page, with every request it made and every script error or CSP violation it hit. */
  async function openDocs(): Promise<{ page: Page; requests: string[]; problems: string[] }> {
    const page = await (await browser!.newContext()).newPage()
    page.setDefaultTimeout(10_000)
    const requests: string[] = []
    const problems: string[] = []
    page.on('request', (r) => requests.push(r.url()))
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`)
    })
    await page.goto(`${dev!.url}/docs`)
    await page.waitForSelector('section.op#createTask')
    return { page, requests, problems }
  }

  /** Fills the operation's "Try it" form, sends it, and returns what the page shows. */
  async function tryIt(page: Page, operationId: string, fields: Record<string, string>, body?: unknown) {
    const section = page.locator(`section#${operationId}`)
    await section.locator('details:has(form.try)').evaluate((details) => ((details as { open: boolean }).open = true))
    for (const [name, value] of Object.entries(fields))
      await section.locator(`form.try input[name="${name}"]`).fill(value)
    if (body !== undefined) await section.locator('form.try textarea').fill(JSON.stringify(body))
    const output = section.locator('[aria-live]')
    await section.locator('form.try button[type=submit]').click()
    await output.locator('.status-ok, .status-err').waitFor()
    return {
      status: await output.locator('.status-ok, .status-err').textContent(),
      text: (await output.textContent()) ?? '',
    }
  }

  it('renders every operation, schema and problem type, loading nothing from another origin', async () => {
    const { page, requests, problems } = await openDocs()
    const doc = (await (await fetch(`${dev!.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>
      components: { schemas: object }
    }
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0)
    expect(await page.locator('nav a .method').count()).toBe(operations)
    for (const name of Object.keys(doc.components.schemas))
      await expect(page.locator(`#schema-${name}`).count()).resolves.toBe(1)
    expect(await page.locator('#problem-types tbody tr').count()).toBeGreaterThanOrEqual(12)
    expect(await page.locator('#createTask').textContent()).toContain('idempotency-key')
    expect(
      requests.every((url) => url.startsWith(`${dev!.url}/`)),
      requests.join('\n'),
    ).toBe(true)
    expect(problems).toEqual([])
  })

  it('creates a task with a token and an Idempotency-Key, replays it, and shows problems', async () => {
    const { page, problems } = await openDocs()
    await page.locator('#token').fill(token)
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
  })

  it('gets a 401 without a token', async () => {
    const { page } = await openDocs()
    const res = await tryIt(page, 'getMe', {})
    expect(res.status).toMatch(/^401/)
    expect(res.text).toContain('/problems/unauthorized')
  })
})
