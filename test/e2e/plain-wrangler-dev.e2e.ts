/**
 * `npx wrangler dev` as a newcomer types it in a fresh clone, without `npm run dev`
 * (docs/dev-server.md): the `[build]` step (scripts/dev-prepare.mjs) creates .dev.vars with a fresh
 * secret and migrates the local D1, so the API answers, with a token `npm run token` signs from that
 * .dev.vars, as well as /health and /docs. The clone is a copy of what git tracks that wrangler and
 * the scripts read, beside this checkout's node_modules; nothing of the checkout's own state is used.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPlainWranglerDev } from '../../scripts/dev-server.mjs'

const repo = path.resolve(import.meta.dirname, '../..')
const TRACKED = ['src', 'migrations', 'scripts', 'docs-ui', 'wrangler.toml', 'package.json', '.dev.vars.example']

describe('npx wrangler dev in a fresh clone', () => {
  let work = ''
  let dev: Awaited<ReturnType<typeof startPlainWranglerDev>> | undefined

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'tasks-e2e-plain-'))
    for (const entry of TRACKED) cpSync(path.join(repo, entry), path.join(work, entry), { recursive: true })
    symlinkSync(path.join(repo, 'node_modules'), path.join(work, 'node_modules'))
    dev = await startPlainWranglerDev({ cwd: work })
  })

  afterAll(async () => {
    await dev?.stop()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('serves /health, /docs and the API, on the .dev.vars and schema its build made', async () => {
    expect(existsSync(path.join(work, '.dev.vars'))).toBe(true)
    expect((await fetch(`${dev!.url}/health`)).status).toBe(200)
    const docs = await fetch(`${dev!.url}/docs`)
    expect(docs.status).toBe(200)
    expect(docs.headers.get('Content-Type')).toMatch(/^text\/html/)

    const token = spawnSync(process.execPath, ['scripts/token.mjs', 'newcomer'], { cwd: work, encoding: 'utf8' })
    expect(token.status, token.stderr).toBe(0)
    const auth = { Authorization: `Bearer ${token.stdout.trim()}` }
    const created = await fetch(`${dev!.url}/tasks`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'First task' }),
    })
    expect(created.status, await created.clone().text()).toBe(201)
    const { id } = (await created.json()) as { id: string }
    const list = (await (await fetch(`${dev!.url}/tasks`, { headers: auth })).json()) as { items: { id: string }[] }
    expect(list.items.map((t) => t.id)).toEqual([id])
  })
})
