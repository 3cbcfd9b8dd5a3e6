/** The MCP tools by task number, their faults, the store they share with REST, and their D1 round trips. */
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { countingDb, failingDb, newUserId, queryPlan, request, storedTask, tokenFor } from '../helpers'
import { call, mcpClient, mcpToken, mcpUser, rpc, rpcMessage, taskCount, toolError } from './client'

const user = mcpUser

const _TOOLS = ['add_task', 'complete_task', 'delete_task', 'list_tasks', 'update_task']

describe('task_id as the task number', () => {
  it('answers task_id as the per-user number and acts on it given as an integer or a string of digits', async () => {
    const { id, client } = await user()
    await call(client, 'add_task', { title: 'First' })
    const added = (await call(client, 'add_task', { title: 'Second' })).structuredContent!
    expect(added).toMatchObject({ task_id: 2, task: { number: 2, id: added.id } })
    const done = await call(client, 'complete_task', { task_id: 2 })
    expect(done.structuredContent).toMatchObject({ task_id: 2, id: added.id, status: 'completed' })
    expect(await storedTask(added.id)).toMatchObject({ user_id: id, completed: 1, version: 2 })
    const updated = await call(client, 'update_task', { task_id: ' 2 ', title: 'Renamed' })
    expect(updated.structuredContent).toMatchObject({ task_id: 2, title: 'Renamed' })
    expect(await storedTask(added.id)).toMatchObject({ title: 'Renamed', version: 3 })
    expect(toolError(await call(client, 'update_task', { task_id: 2, title: 'x', expected_version: 1 }))).toMatch(
      /Task 2 is no longer at version 1/,
    )
    const listed = (await call(client, 'list_tasks')).structuredContent!
    expect(listed.tasks.map((t: { number: number }) => t.number)).toEqual([2, 1])
    expect((await call(client, 'delete_task', { task_id: '2' })).structuredContent).toEqual({
      task_id: 2,
      id: added.id,
      status: 'deleted',
      title: 'Renamed',
    })
    expect(await storedTask(added.id)).toBeNull()
    expect(toolError(await call(client, 'delete_task', { task_id: 2 }))).toMatch(/no task number 2.*list_tasks/)
    for (const task_id of [0, -1, 1.5, '1e3', '02', '99999999999999999']) {
      const result = await call(client, 'delete_task', { task_id })
      expect(result.isError, String(task_id)).toBe(true)
    }
    expect(await taskCount(id)).toBe(1)
  })

  it("lets B's number reach only B's own task of that number, or none, and changes nothing of A's", async () => {
    const a = await user()
    const b = await user()
    const { id: alices } = (await call(a.client, 'add_task', { title: "A's" })).structuredContent!
    await call(a.client, 'add_task', { title: "A's second" })
    const { id: bobs } = (await call(b.client, 'add_task', { title: "B's" })).structuredContent!
    // Number 1 is A's task and B's: B reaches its own.
    expect((await call(b.client, 'complete_task', { task_id: 1 })).structuredContent).toMatchObject({ id: bobs })
    expect((await call(b.client, 'update_task', { task_id: '1', title: 'B renamed' })).isError).toBeFalsy()
    // Number 2 is only A's: B gets "no task".
    for (const [name, args] of [
      ['complete_task', { task_id: 2 }],
      ['update_task', { task_id: 2, title: 'Hijacked' }],
      ['delete_task', { task_id: '2' }],
    ] as const) {
      expect(toolError(await call(b.client, name, args))).toMatch(/no task number 2/)
    }
    expect((await call(b.client, 'delete_task', { task_id: 1 })).structuredContent).toMatchObject({ id: bobs })
    expect(await storedTask(alices)).toMatchObject({ user_id: a.id, title: "A's", completed: 0, version: 1 })
    const second = await env.DB.prepare('SELECT title, version FROM tasks WHERE user_id = ?1 AND number = 2')
      .bind(a.id)
      .first()
    expect(second).toEqual({ title: "A's second", version: 1 })
    expect(await taskCount(b.id)).toBe(0)
  })

  it('finds a task by number through the (user_id, number) index, in one round trip', async () => {
    const { token, client } = await user()
    for (const title of ['one', 'two', 'three']) await call(client, 'add_task', { title })
    for (const [name, args] of [
      ['complete_task', { task_id: 2 }],
      ['update_task', { task_id: '2', title: 'renamed' }],
      ['delete_task', { task_id: 2 }],
    ] as const) {
      const { db, counter } = countingDb(env.DB)
      const res = await rpc(
        token,
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } },
        {},
        { DB: db },
      )
      expect((await rpcMessage(res)).result?.isError, name).toBeFalsy()
      expect(counter.roundTrips, name).toBe(1)
      // Every statement the round trip ran, a batch's included: those that pick the task by number seek it.
      for (const [i, sql] of counter.statements.entries()) {
        const plan = await queryPlan(sql, ...counter.bindings[i]!)
        if (/\bnumber = \?2\b/.test(sql)) {
          expect(plan, sql).toMatch(/USING (COVERING )?INDEX tasks_by_user_number \(user_id=\? AND number=\?\)/)
        }
        expect(plan, sql).not.toMatch(/SCAN tasks/)
      }
      expect(counter.statements.filter((sql) => /\bnumber = \?2\b/.test(sql)).length, name).toBeGreaterThan(0)
    }
  })
})

describe('faults', () => {
  it('answers a tool call during a D1 outage with a tool error saying to retry, never a 5xx', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const id = newUserId()
    const client = await mcpClient(await mcpToken(id), { env: { DB: failingDb() } })
    for (const [name, args] of [
      ['add_task', { title: 'x' }],
      ['list_tasks', {}],
    ] as const) {
      expect(toolError(await call(client, name, args))).toMatch(/unavailable; try again/)
    }
    expect(logged).toHaveBeenCalled()
    logged.mockRestore()
  })
})

describe('MCP and the REST API share one store', () => {
  it("shows MCP writes in the REST API's tasks, ETags and sync feed", async () => {
    const { id, client } = await user()
    const rest = await tokenFor(id)
    const { id: task_id } = (await call(client, 'add_task', { title: 'Shared' })).structuredContent!
    const feed = await (await request('/tasks/changes', { token: rest })).json<{
      tasks: { id: string }[]
      token: string
    }>()
    expect(feed.tasks.map((t) => t.id)).toEqual([task_id])
    await call(client, 'update_task', { task_id, title: 'Shared, edited' })
    const got = await request(`/tasks/${task_id}`, { token: rest })
    expect(got.headers.get('ETag')).toBe('"v2"')
    await call(client, 'delete_task', { task_id })
    const later = await (
      await request(`/tasks/changes?since=${encodeURIComponent(feed.token)}`, { token: rest })
    ).json<{ deleted: string[] }>()
    expect(later.deleted).toEqual([task_id])
  })
})

describe('D1 round trips per MCP request', () => {
  it('is one for every tool call that succeeds, as for the REST endpoint it mirrors, and none for the rest', async () => {
    const { token, client } = await user()
    const { id: task_id } = (await call(client, 'add_task', { title: 'Counted' })).structuredContent!
    const cases: [string, Record<string, unknown> | undefined, number][] = [
      ['initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } }, 0],
      ['tools/list', undefined, 0],
      ['add_task', { title: 'new' }, 1],
      ['list_tasks', { status: 'pending', query: 'new', tag: ['a'], sort: '-dueAt' }, 1],
      ['complete_task', { task_id }, 1],
      ['update_task', { task_id, title: 'renamed' }, 1],
      ['delete_task', { task_id }, 1],
    ]
    for (const [name, args, roundTrips] of cases) {
      const { db, counter } = countingDb(env.DB)
      const body =
        name.includes('/') || name === 'initialize'
          ? { jsonrpc: '2.0', id: 1, method: name, ...(args && { params: args }) }
          : { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }
      const res = await rpc(token, body, {}, { DB: db })
      const message = await rpcMessage(res)
      expect(message.result?.isError, `${name}: ${JSON.stringify(message)}`).toBeFalsy()
      expect(counter.roundTrips, `${name}: ${counter.statements.join(' | ')}`).toBe(roundTrips)
    }
  })
})
