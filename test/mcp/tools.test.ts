import { describe, expect, it } from 'vitest'
import { newUserId, storedTask } from '../helpers'
import { call, mcpClient, mcpToken, mcpUser, taskCount, toolError } from './client'

const user = mcpUser

const TOOLS = ['add_task', 'complete_task', 'delete_task', 'list_tasks', 'update_task']

describe('MCP handshake and tool list', () => {
  it('initializes with the 2025 handshake, naming the server and its tools capability', async () => {
    const { client } = await user()
    expect(client.getServerVersion()).toEqual({ name: 'tasks-api', version: '1.0.0' })
    expect(client.getServerCapabilities()).toMatchObject({ tools: {} })
    expect(client.getNegotiatedProtocolVersion()).toBe('2025-11-25')
  })

  it('speaks the 2026-07-28 protocol to a client that negotiates it', async () => {
    const id = newUserId()
    const client = await mcpClient(await mcpToken(id), { mode: 'auto' })
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28')
    const added = await call(client, 'add_task', { title: 'Over the new protocol' })
    expect(added.structuredContent).toMatchObject({ status: 'created', title: 'Over the new protocol' })
    expect(await taskCount(id)).toBe(1)
  })

  it('lists the five tools with JSON Schema input, an output schema and annotations', async () => {
    const { client } = await user()
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS)
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]))
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object')
      expect(tool.outputSchema?.type).toBe('object')
      expect(tool.description).toBeTruthy()
      // Unknown arguments are refused, never ignored; user_id is accepted only to be checked.
      expect(tool.inputSchema).toMatchObject({ additionalProperties: false })
      expect(tool.inputSchema.properties).toHaveProperty('user_id')
    }
    expect(byName.add_task!.inputSchema).toMatchObject({
      required: ['title'],
      properties: {
        title: { type: 'string', minLength: 1, maxLength: 200 },
        priority: { enum: ['low', 'medium', 'high'] },
        tags: { type: 'array', maxItems: 10 },
        due_at: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
      },
    })
    expect(byName.list_tasks!.inputSchema.properties).toMatchObject({
      status: { enum: ['all', 'pending', 'completed'] },
      limit: { type: 'integer', minimum: 1, maximum: 100 },
    })
    for (const name of ['complete_task', 'update_task', 'delete_task']) {
      expect(byName[name]!.inputSchema.required).toEqual(['task_id'])
    }
    expect(byName.list_tasks!.annotations).toMatchObject({ readOnlyHint: true })
    expect(byName.add_task!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
    })
    expect(byName.complete_task!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
    })
    expect(byName.update_task!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
    })
    expect(byName.delete_task!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    })
  })
})

describe('add_task', () => {
  it('creates the task and answers task_id, status created, title and the task', async () => {
    const { id, client } = await user()
    const result = await call(client, 'add_task', {
      title: '  Buy milk ',
      description: 'Semi-skimmed',
      priority: 'high',
      tags: ['shopping'],
      due_at: '2030-01-02T10:00:00+01:00',
    })
    expect(result.isError).toBeFalsy()
    const { task_id, id: uuid, status, title, task } = result.structuredContent!
    expect({ task_id, status, title }).toEqual({ task_id: 1, status: 'created', title: 'Buy milk' })
    expect(task).toMatchObject({
      id: uuid,
      number: task_id,
      priority: 'high',
      tags: ['shopping'],
      dueAt: '2030-01-02T09:00:00.000Z',
    })
    expect(JSON.parse(result.content[0]!.text)).toEqual(result.structuredContent)
    expect(await storedTask(uuid)).toMatchObject({ user_id: id, title: 'Buy milk', description: 'Semi-skimmed' })
  })

  it('refuses invalid fields with a tool error naming them, and stores nothing', async () => {
    const { id, client } = await user()
    for (const args of [
      { title: '' },
      { title: 'x'.repeat(201) },
      { title: 'ok', due_at: '2030-02-30T00:00:00Z' },
      {},
    ]) {
      expect(toolError(await call(client, 'add_task', args))).toMatch(/title|due_at/)
    }
    expect(toolError(await call(client, 'add_task', { title: 'ok', owner: 'x' }))).toMatch(/owner/)
    expect(await taskCount(id)).toBe(0)
  })

  it('ignores a user_id equal to the signed-in user', async () => {
    const { id, client } = await user()
    const result = await call(client, 'add_task', { title: 'Mine', user_id: id })
    expect(result.isError).toBeFalsy()
    expect(await storedTask(result.structuredContent!.id)).toMatchObject({ user_id: id })
  })

  it('refuses any other user_id with a tool error, and writes nothing for either user', async () => {
    const { id, client } = await user()
    const other = newUserId()
    expect(toolError(await call(client, 'add_task', { title: 'Theirs', user_id: other }))).toMatch(/user_id/)
    expect(await taskCount(id)).toBe(0)
    expect(await taskCount(other)).toBe(0)
  })

  it('refuses a task over the quota with a tool error saying what to do', async () => {
    const id = newUserId()
    const client = await mcpClient(await mcpToken(id), { env: { TASK_QUOTA: '2' } })
    expect((await call(client, 'add_task', { title: 'one' })).isError).toBeFalsy()
    expect((await call(client, 'add_task', { title: 'two' })).isError).toBeFalsy()
    expect(toolError(await call(client, 'add_task', { title: 'three' }))).toMatch(/2 tasks.*delete some/)
    expect(await taskCount(id)).toBe(2)
  })
})

describe('list_tasks', () => {
  it("lists only the user's tasks, filtered by status, and pages with next_cursor", async () => {
    const a = await user()
    const b = await user()
    for (const title of ['one', 'two', 'three']) await call(a.client, 'add_task', { title })
    await call(b.client, 'add_task', { title: "b's" })
    const first = (await call(a.client, 'list_tasks', { limit: 2 })).structuredContent!
    expect(first.tasks.map((t: { title: string }) => t.title)).toEqual(['three', 'two'])
    const second = (await call(a.client, 'list_tasks', { limit: 2, cursor: first.next_cursor })).structuredContent!
    expect(second).toMatchObject({ tasks: [{ title: 'one' }], next_cursor: null })

    const [three] = first.tasks
    await call(a.client, 'complete_task', { task_id: three.id })
    const completed = (await call(a.client, 'list_tasks', { status: 'completed' })).structuredContent!
    expect(completed.tasks.map((t: { title: string }) => t.title)).toEqual(['three'])
    const pending = (await call(a.client, 'list_tasks', { status: 'pending', sort: 'title' })).structuredContent!
    expect(pending.tasks.map((t: { title: string }) => t.title)).toEqual(['one', 'two'])
  })

  it('filters by query, priority, tag and due range', async () => {
    const { client } = await user()
    await call(client, 'add_task', {
      title: 'Call the bank',
      priority: 'high',
      tags: ['phone'],
      due_at: '2030-01-01T00:00:00Z',
    })
    await call(client, 'add_task', { title: 'Water plants', tags: ['home'], due_at: '2031-01-01T00:00:00Z' })
    const titles = async (args: Record<string, unknown>) =>
      (await call(client, 'list_tasks', args)).structuredContent!.tasks.map((t: { title: string }) => t.title)
    expect(await titles({ query: 'BANK' })).toEqual(['Call the bank'])
    expect(await titles({ priority: 'high' })).toEqual(['Call the bank'])
    expect(await titles({ tag: ['home'] })).toEqual(['Water plants'])
    expect(await titles({ due_after: '2030-06-01T00:00:00Z' })).toEqual(['Water plants'])
    expect(await titles({ due_before: '2030-06-01T00:00:00Z' })).toEqual(['Call the bank'])
  })

  it('refuses invalid arguments and a tampered cursor with a tool error naming them', async () => {
    const { client } = await user()
    expect(toolError(await call(client, 'list_tasks', { limit: 0 }))).toMatch(/limit/)
    expect(toolError(await call(client, 'list_tasks', { cursor: 'not-a-cursor' }))).toMatch(/cursor/)
    expect(toolError(await call(client, 'list_tasks', { due_after: 'tomorrow' }))).toMatch(/due_after/)
    expect(toolError(await call(client, 'list_tasks', { status: 'completed', overdue: true }))).toMatch(/overdue/)
    expect(toolError(await call(client, 'list_tasks', { user_id: newUserId() }))).toMatch(/user_id/)
  })
})

describe('complete_task, update_task and delete_task', () => {
  it('completes and reopens a task, answering task_id, status and title', async () => {
    const { client } = await user()
    const { id: task_id } = (await call(client, 'add_task', { title: 'Finish it' })).structuredContent!
    const done = await call(client, 'complete_task', { task_id })
    expect(done.structuredContent).toMatchObject({
      id: task_id,
      status: 'completed',
      title: 'Finish it',
      task: { completed: true },
    })
    expect(await storedTask(task_id)).toMatchObject({ completed: 1, version: 2 })
    const reopened = await call(client, 'complete_task', { task_id, completed: false })
    expect(reopened.structuredContent).toMatchObject({
      status: 'reopened',
      task: { completed: false, completedAt: null },
    })
    expect(await storedTask(task_id)).toMatchObject({ completed: 0, completed_at: null })
  })

  it('creates exactly one next occurrence when a recurring task is completed, however often', async () => {
    const { id, client } = await user()
    const recurring = {
      title: 'Standup',
      due_at: '2030-03-04T08:00:00Z',
      time_zone: 'Europe/Berlin',
      recurrence: { frequency: 'daily' },
    }
    const { id: task_id } = (await call(client, 'add_task', recurring)).structuredContent!
    const done = await call(client, 'complete_task', { task_id })
    const nextId = (done.structuredContent!.task as { nextTaskId: string | null }).nextTaskId
    expect(nextId).toEqual(expect.any(String))
    // 9:00 in Berlin on the next day, the wall-clock time kept.
    expect(await storedTask(nextId!)).toMatchObject({ completed: 0, due_at: '2030-03-05T08:00:00.000Z' })
    await call(client, 'complete_task', { task_id, completed: false })
    await call(client, 'complete_task', { task_id })
    expect(await taskCount(id)).toBe(2)
    expect(await storedTask(task_id)).toMatchObject({ completed: 1, next_task_id: nextId })
    expect(toolError(await call(client, 'add_task', { title: 'No date', recurrence: { frequency: 'daily' } }))).toMatch(
      /due/,
    )
    expect(await taskCount(id)).toBe(2)
  })

  it('updates only the fields given, and refuses a call that changes nothing', async () => {
    const { client } = await user()
    const { id: task_id } = (await call(client, 'add_task', { title: 'Draft', tags: ['a'] })).structuredContent!
    const updated = await call(client, 'update_task', { task_id, title: 'Final', due_at: '2030-05-01T09:30:00Z' })
    expect(updated.structuredContent).toMatchObject({ id: task_id, status: 'updated', title: 'Final' })
    expect(await storedTask(task_id)).toMatchObject({
      title: 'Final',
      tags: '["a"]',
      due_at: '2030-05-01T09:30:00.000Z',
    })
    await call(client, 'update_task', { task_id, due_at: null })
    expect(await storedTask(task_id)).toMatchObject({ due_at: null })
    expect(toolError(await call(client, 'update_task', { task_id }))).toMatch(/at least one field/)
    expect(toolError(await call(client, 'update_task', { task_id, priority: 'urgent' }))).toMatch(/priority/)
    expect(await storedTask(task_id)).toMatchObject({ version: 3 })
  })

  it('deletes a task, answering its id, status deleted and title', async () => {
    const { client } = await user()
    const { id: task_id } = (await call(client, 'add_task', { title: 'Old' })).structuredContent!
    const deleted = await call(client, 'delete_task', { task_id })
    expect(deleted.structuredContent).toEqual({ task_id: 1, id: task_id, status: 'deleted', title: 'Old' })
    expect(await storedTask(task_id)).toBeNull()
    expect(toolError(await call(client, 'delete_task', { task_id }))).toMatch(/No task has the id.*list_tasks/)
  })

  it('accepts the id in upper case, and refuses what is no task id before touching D1', async () => {
    const { client } = await user()
    const { id: task_id } = (await call(client, 'add_task', { title: 'Case' })).structuredContent!
    expect((await call(client, 'complete_task', { task_id: task_id.toUpperCase() })).isError).toBeFalsy()
    expect(toolError(await call(client, 'delete_task', { task_id: '0' }))).toMatch(/not a task_id.*list_tasks/)
    expect(toolError(await call(client, 'delete_task', { task_id: "' OR 1=1 --" }))).toMatch(/not a task_id/)
    expect(await storedTask(task_id)).not.toBeNull()
  })

  it("refuses another user's task with a tool error and changes nothing", async () => {
    const a = await user()
    const b = await user()
    const { id: task_id } = (await call(a.client, 'add_task', { title: "A's" })).structuredContent!
    for (const [name, args] of [
      ['complete_task', { task_id }],
      ['update_task', { task_id, title: 'Hijacked' }],
      ['delete_task', { task_id }],
    ] as const) {
      expect(toolError(await call(b.client, name, args))).toMatch(/belongs to another user; nothing was changed/)
    }
    expect(await storedTask(task_id)).toMatchObject({ user_id: a.id, title: "A's", completed: 0, version: 1 })
  })

  it("refuses a user_id other than the token's before reading or writing anything", async () => {
    const a = await user()
    const b = await user()
    const { id: task_id } = (await call(a.client, 'add_task', { title: "A's" })).structuredContent!
    for (const [name, args] of [
      ['complete_task', { task_id }],
      ['update_task', { task_id, title: 'Hijacked' }],
      ['delete_task', { task_id }],
    ] as const) {
      // b names a, the task's owner: the tool must not act as a.
      const message = toolError(await call(b.client, name, { ...args, user_id: a.id }))
      expect(message).toMatch(/user_id/)
      expect(message).not.toMatch(/belongs to another user/)
    }
    expect(await storedTask(task_id)).toMatchObject({ title: "A's", completed: 0, version: 1 })
  })

  it('writes only at expected_version, like If-Match, and says how to recover', async () => {
    const { client } = await user()
    const { id: task_id } = (await call(client, 'add_task', { title: 'Versioned' })).structuredContent!
    expect((await call(client, 'update_task', { task_id, title: 'v2', expected_version: 1 })).isError).toBeFalsy()
    for (const [name, args] of [
      ['update_task', { task_id, title: 'stale', expected_version: 1 }],
      ['complete_task', { task_id, expected_version: 1 }],
      ['delete_task', { task_id, expected_version: 1 }],
    ] as const) {
      expect(toolError(await call(client, name, args))).toMatch(
        /no longer at version 1; nothing was changed.*list_tasks/,
      )
    }
    expect(await storedTask(task_id)).toMatchObject({ title: 'v2', completed: 0, version: 2 })
  })
})
