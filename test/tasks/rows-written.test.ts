import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { countingDb, request, type SignedIn, signIn } from '../helpers'

/**
 * D1 bills rows written, and `meta.rows_written` counts every row a statement and its triggers
 * write, and one more for each index entry an INSERT adds or an UPDATE rewrites (a DELETE counts
 * its row only). The budgets are today's numbers (docs/performance.md, "Rows written", says what
 * each row is): a new trigger, statement or index that writes more must raise them here, on purpose.
 */
const BUDGETS = {
  // The task row (the table is its primary key, migrations/0011), the five list indexes
  // (completed_number, due_nulls_high, due_nulls_low, priority, title), the sequence and number
  // indexes (which serve the updatedAt and createdAt sorts), the user's counter row, the event
  // (task_events is its primary key, migrations/0014).
  create: 10,
  // The same, the key record with its primary-key, purge and per-user age (0007) indexes, and the
  // counter row again for 0007's count of key records (a later statement than the task's).
  createWithKey: 15,
  replayWithKey: 0,
  // The task row, every index over a written column (all but number's), the counter row, the event.
  replaceEverything: 9,
  // The task row, the field's index, the sequence index, the counter row, the event.
  patchOneField: 5,
  reopen: 5,
  // The task row, the counter row, the tombstone and its purge index, the event; below the
  // tombstone cap the trim that follows (src/tasks/repo.ts) writes nothing.
  delete: 5,
  read: 0,
}

/** The one row the event log adds to each change, and one more for its delivery with WEBHOOK_URL set. */
const EVENT = 1
const DELIVERY = 1

/** The rows D1 reports writing for one request, which must succeed; `bindings` replace the env's. */
async function rowsWritten(
  user: SignedIn,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  bindings: Partial<Env> = {},
) {
  const { db, counter } = countingDb(env.DB)
  const res = await request(path, { ...init, token: user.token, env: { ...bindings, DB: db } })
  expect(res.status, `${init.method ?? 'GET'} ${path}`).toBeLessThan(300)
  return { rows: counter.rowsWritten, res }
}

describe('rows written per request (D1 meta.rows_written)', () => {
  it(`writes at most ${BUDGETS.create} rows for a create, ${BUDGETS.createWithKey} with an Idempotency-Key and ${BUDGETS.replayWithKey} for its replay`, async () => {
    const user = await signIn()
    // The user's first task creates the user's counter rows; later ones only update them.
    await user.createTask()
    const body = { title: 'Budgeted', description: 'd', priority: 'high', dueAt: '2026-05-01T09:30:00Z', tags: ['a'] }
    expect((await rowsWritten(user, '/tasks', { method: 'POST', body })).rows).toBeLessThanOrEqual(BUDGETS.create)
    const keyed = { method: 'POST', body, headers: { 'Idempotency-Key': crypto.randomUUID() } }
    expect((await rowsWritten(user, '/tasks', keyed)).rows).toBeLessThanOrEqual(BUDGETS.createWithKey)
    const replay = await rowsWritten(user, '/tasks', keyed)
    expect(replay.res.headers.get('Idempotent-Replayed')).toBe('true')
    expect(replay.rows).toBeLessThanOrEqual(BUDGETS.replayWithKey)
  })

  it(`writes at most ${BUDGETS.replaceEverything} rows for a PUT that changes every field, ${BUDGETS.patchOneField} for a PATCH of one, ${BUDGETS.reopen} to reopen a task`, async () => {
    const user = await signIn()
    const task = await user.createTask({ title: 'Before', priority: 'low' })
    const everything = {
      title: 'After',
      description: 'new',
      completed: true,
      priority: 'high',
      dueAt: '2026-06-01T00:00:00Z',
      tags: ['x'],
    }
    const put = await rowsWritten(user, `/tasks/${task.id}`, { method: 'PUT', body: everything })
    expect(put.rows).toBeLessThanOrEqual(BUDGETS.replaceEverything)
    const patch = await rowsWritten(user, `/tasks/${task.id}`, { method: 'PATCH', body: { priority: 'medium' } })
    expect(patch.rows).toBeLessThanOrEqual(BUDGETS.patchOneField)
    const complete = await rowsWritten(user, `/tasks/${task.id}`, { method: 'PATCH', body: { completed: false } })
    expect(complete.rows).toBeLessThanOrEqual(BUDGETS.reopen)
  })

  it(`writes at most ${BUDGETS.delete} rows for a delete, and none for a read`, async () => {
    const user = await signIn()
    const task = await user.createTask()
    for (const path of ['/tasks', `/tasks/${task.id}`, '/tasks/changes', '/me']) {
      expect((await rowsWritten(user, path)).rows, path).toBe(BUDGETS.read)
    }
    expect((await rowsWritten(user, `/tasks/${task.id}`, { method: 'DELETE' })).rows).toBeLessThanOrEqual(
      BUDGETS.delete,
    )
  })

  it('writes the same per task for a bulk delete as for deleting each', async () => {
    const user = await signIn()
    for (let i = 0; i < 3; i++) await user.createTask({ completed: true })
    await user.createTask()
    const { rows } = await rowsWritten(user, '/tasks?completed=true', { method: 'DELETE' })
    expect(rows).toBeLessThanOrEqual(3 * BUDGETS.delete)
  })

  it(`writes exactly ${EVENT} row more for a change's event, none for a read or a refusal, and ${DELIVERY} more with a webhook`, async () => {
    const user = await signIn()
    const task = await user.createTask()
    const events = async () =>
      (await env.DB.prepare('SELECT count(*) AS n FROM task_events WHERE user_id = ?1')
        .bind(user.id)
        .first<{ n: number }>())!.n
    const before = await events()
    // Exactly the budgets: an event costing a second row (an index, a statement of its own) fails here.
    const patch = await rowsWritten(user, `/tasks/${task.id}`, { method: 'PATCH', body: { title: 'x' } })
    expect(patch.rows).toBe(BUDGETS.patchOneField)
    expect(await events()).toBe(before + 1)
    const removed = await rowsWritten(user, `/tasks/${task.id}`, { method: 'DELETE' })
    expect(removed.rows).toBe(BUDGETS.delete)
    // With WEBHOOK_URL set, the event is also in the index of events to deliver (task_events_pending).
    const queue = { send: async () => {}, sendBatch: async () => {} } as unknown as Queue
    const hooked = {
      WEBHOOK_URL: 'https://hooks.example.com/tasks',
      WEBHOOK_SECRET: `whsec_${btoa('k'.repeat(32))}`,
      EVENTS_QUEUE: queue,
    }
    const other = await user.createTask()
    const delivered = await rowsWritten(user, `/tasks/${other.id}`, { method: 'PATCH', body: { title: 'y' } }, hooked)
    expect(delivered.rows).toBe(BUDGETS.patchOneField + DELIVERY)
  })
})
