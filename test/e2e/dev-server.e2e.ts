/**
 * What `npm run dev` (scripts/dev.mjs) promises, over HTTP:
 * - wrangler's Local Explorer and the scheduled trigger are not served (docs/dev-server.md), and
 *   `--test-scheduled` opens the trigger alone, which then runs the purges;
 * - data survives a restart: tasks written through one dev server (created, updated, deleted) read
 *   back identically from the next one, started on the same `--persist-to` state after the first
 *   was stopped as Ctrl-C stops it (the migrations and wrangler dev must open the same database).
 *
 * The state lives in a temporary `--persist-to` directory, so a developer's .wrangler/state is
 * never touched; it has the layout `npm run dev` keeps in .wrangler/state.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devToken, startDevServer, writeEnvFile } from '../../scripts/dev-server.mjs'

// Every path wrangler 4.156 / Miniflare serve for the explorer and the trigger, and neighbours.
const EXPLORER = [
  '/cdn-cgi/explorer',
  '/cdn-cgi/explorer/api/d1',
  '/cdn-cgi/local/explorer',
  '/cdn-cgi/local/explorer/',
]
const SCHEDULED = ['/cdn-cgi/local/scheduled?time=4102444800000', '/__scheduled?time=4102444800000']

describe('npm run dev', () => {
  const secret = randomBytes(32).toString('base64url')
  let work = ''
  let dev: Awaited<ReturnType<typeof startDevServer>> | undefined
  let token = ''

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'tasks-e2e-restart-'))
    token = devToken('restart-user', secret)
  })

  afterAll(async () => {
    await dev?.stop()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  async function api(method: string, urlPath: string, body?: unknown) {
    const res = await fetch(`${dev!.url}${urlPath}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body !== undefined && { 'Content-Type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null }
  }

  /** All the user can read: the list, and each task by id (a status where there is none). */
  async function snapshot(ids: string[]) {
    const list = await api('GET', '/tasks?limit=100')
    const tasks: Record<string, unknown> = {}
    for (const id of ids) {
      const res = await api('GET', `/tasks/${id}`)
      // A problem's requestId differs per request; only the status is state.
      tasks[id] = res.status === 200 ? res.body : res.status
    }
    return { list, tasks }
  }

  /** Status and body of an unauthenticated GET, as a cross-site page or a local process sends it. */
  async function probe(urlPath: string) {
    const res = await fetch(`${dev!.url}${urlPath}`)
    return { path: urlPath, status: res.status, body: await res.text() }
  }

  it('serves neither the Local Explorer nor the scheduled trigger, then keeps every task across a restart', async () => {
    const start = (extraArgs: string[] = []) =>
      startDevServer({ persistTo: path.join(work, 'state'), envFile: path.join(work, 'restart.vars'), extraArgs })
    writeEnvFile(path.join(work, 'restart.vars'), { BETTER_AUTH_SECRET: secret })
    dev = await start()

    for (const urlPath of [...EXPLORER, ...SCHEDULED]) {
      expect(await probe(urlPath)).toMatchObject({
        path: urlPath,
        status: 404,
        body: expect.stringContaining('npm run dev'),
      })
    }

    const kept = await api('POST', '/tasks', {
      title: 'Survives a restart ✓',
      description: 'Unicode, tags, a due date and a priority, all read back exactly.',
      priority: 'high',
      dueAt: '2031-05-06T07:08:09.123+02:00',
      tags: ['persist', 'dev'],
    })
    const updated = await api('POST', '/tasks', { title: 'Completed before the restart' })
    const removed = await api('POST', '/tasks', { title: 'Deleted before the restart' })
    expect([kept.status, updated.status, removed.status]).toEqual([201, 201, 201])
    expect((await api('PATCH', `/tasks/${updated.body.id}`, { completed: true })).status).toBe(200)
    expect((await api('DELETE', `/tasks/${removed.body.id}`)).status).toBe(204)
    const ids = [kept.body.id, updated.body.id, removed.body.id]
    const before = await snapshot(ids)
    expect(before.list.body.items).toHaveLength(2)
    expect(before.tasks[removed.body.id]).toBe(404)

    await dev.stop()
    dev = await start(['--test-scheduled'])
    expect(await snapshot(ids)).toEqual(before)

    // Asked for, the trigger runs the purges (a scheduled time in 2100 makes every record old)...
    const ran = await probe(`/cdn-cgi/local/scheduled?time=${Date.UTC(2100, 0)}`)
    expect(ran).toMatchObject({ status: 200, body: 'ok' })
    // The one tombstone, of the task deleted above: none was purged by the probes while closed.
    expect(dev.output()).toMatch(/"message":"purge done","job":"tombstones","cron":"[^"]*","purged":1\b/)
    // ...while the explorer stays closed.
    for (const urlPath of EXPLORER) expect((await probe(urlPath)).status).toBe(404)
  }, 150_000)
})
