/**
 * Live updates in a real browser: Chromium pages run the client docs/live.md shows (taken from the
 * document itself, so the documented client is the tested one) against `npm run dev`. Two pages of
 * one user hear a task created in one of them within a second, and pull it; a page of another user
 * hears nothing; a page on an origin CORS_ORIGINS does not list cannot open a socket, even with a
 * good ticket.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devToken } from '../../scripts/dev-server.mjs'
import { systemChromium } from './chromium'
import { type SharedDev, servePage, shared, sharedChromium, sharedDev } from './shared'

const executablePath = systemChromium()
const DOC = readFileSync(path.join(import.meta.dirname, '../../docs/live.md'), 'utf8')

/** The documented client: the js block that defines liveUpdates. */
const CLIENT = /```js\n(function liveUpdates[\s\S]*?)```/.exec(DOC)?.[1] ?? ''

/** What a test page keeps: every message token with when it came, and the titles its pulls found. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>live</title><script>
${CLIENT}
window.heard = []
window.titles = []
window.start = (api, token) => {
  let mine = ''
  let pulling = Promise.resolve()
  const auth = { Authorization: 'Bearer ' + token }
  liveUpdates(api, async () => token, (theirs) => {
    window.heard.push({ token: theirs, at: Date.now() })
    pulling = pulling.then(async () => {
      if (theirs === mine) return
      let page
      do {
        const res = await fetch(api + '/tasks/changes' + (mine ? '?since=' + encodeURIComponent(mine) : ''), { headers: auth })
        page = await res.json()
        for (const task of page.tasks) window.titles.push(task.title)
        mine = page.token
      } while (page.hasMore)
    })
  })
}
window.create = async (api, token, title) => {
  const res = await fetch(api + '/tasks', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: JSON.stringify({ title }),
  })
  return { status: res.status, at: Date.now() }
}
window.open_ = (url) =>
  new Promise((resolve) => {
    const socket = new WebSocket(url)
    socket.onopen = () => resolve('open')
    socket.onclose = (event) => resolve('closed ' + event.code)
  })
</script>`

interface Heard {
  token: string
  at: number
}

interface PageScript {
  heard: Heard[]
  titles: string[]
  start(api: string, token: string): void
  create(api: string, token: string, title: string): Promise<{ status: number; at: number }>
  open_(url: string): Promise<string>
}

describe.skipIf(!executablePath)('live updates in Chromium', () => {
  // The page relay (test/e2e/global-setup.ts): listed in CORS_ORIGINS as localhost, not as 127.0.0.1.
  const listedOrigin = `http://localhost:${shared.pagesPort}`
  const unlistedOrigin = `http://127.0.0.1:${shared.pagesPort}`
  let release: (() => Promise<void>) | undefined
  let dev: SharedDev | undefined
  let browser: Browser | undefined
  let alice = ''
  let bob = ''

  beforeAll(async () => {
    release = await servePage(PAGE)
    ;[dev, browser] = await Promise.all([sharedDev(), sharedChromium()])
    alice = devToken('live-alice', shared.secret)
    bob = devToken('live-bob', shared.secret)
  })

  afterAll(async () => {
    await browser?.close()
    await release?.()
  })

  /** A page from `origin` in a context of its own, listening as `token`'s user once `ready` came. */
  async function listeningPage(token: string, origin = listedOrigin): Promise<Page> {
    const page = await (await browser!.newContext()).newPage()
    page.setDefaultTimeout(10_000)
    await page.goto(`${origin}/`)
    await page.evaluate(([api, token]) => (globalThis as unknown as PageScript).start(api, token), [
      dev!.url,
      token,
    ] as const)
    // A ticket, a preflight and the upgrade: on a loaded machine that is more than poll's default second.
    await expect
      .poll(async () => (await page.evaluate(() => (globalThis as unknown as PageScript).heard)).length, {
        timeout: 10_000,
      })
      .toBe(1)
    return page
  }

  const heard = (page: Page) => page.evaluate(() => (globalThis as unknown as PageScript).heard)
  const titles = (page: Page) => page.evaluate(() => (globalThis as unknown as PageScript).titles)

  it('finds the documented client in docs/live.md', () => {
    expect(CLIENT).toMatch(/^function liveUpdates\(api, getToken, onChange\)/)
    expect(CLIENT.trimEnd().split('\n').length).toBeLessThanOrEqual(30)
  })

  it("shows a task created in one page in the user's other page within a second, and nothing to another user", async () => {
    const [phone, laptop, other] = [await listeningPage(alice), await listeningPage(alice), await listeningPage(bob)]
    const title = `ticked on the phone ${Date.now()}`
    const created = await phone.evaluate(
      ([api, token, title]) => (globalThis as unknown as PageScript).create(api, token, title),
      [dev!.url, alice, title] as const,
    )
    expect(created.status).toBe(201)
    await expect.poll(() => titles(laptop), { timeout: 5_000 }).toContain(title)
    const [changed] = (await heard(laptop)).slice(1)
    expect(changed!.at - created.at).toBeLessThan(1000)
    await expect.poll(() => titles(phone)).toContain(title)
    // Bob's page heard its ready, nothing since, and pulled nothing of Alice's.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await heard(other)).toHaveLength(1)
    expect(await titles(other)).not.toContain(title)
  })

  it('cannot open a socket from an origin CORS_ORIGINS does not list, even with a good ticket', async () => {
    const res = await fetch(`${dev!.url}/tasks/live/ticket`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice}` },
    })
    expect(res.status).toBe(201)
    const { url } = (await res.json()) as { url: string }
    expect(url).toMatch(/^ws:\/\//)
    const page = await (await browser!.newContext()).newPage()
    await page.goto(`${unlistedOrigin}/`)
    const outcome = await page.evaluate((url) => (globalThis as unknown as PageScript).open_(url), url)
    expect(outcome).toBe('closed 1006')
    // The ticket was not used up by the refusal: a listed page opens it.
    const listed = await (await browser!.newContext()).newPage()
    await listed.goto(`${listedOrigin}/`)
    expect(await listed.evaluate((url) => (globalThis as unknown as PageScript).open_(url), url)).toBe('open')
  })
})
