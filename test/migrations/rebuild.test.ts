/**
 * migrations/0011 rebuilds `tasks` (WITHOUT ROWID, fewer indexes) on a database the schema before it
 * wrote: every row, counter, tombstone, reminder and Idempotency-Key record must come through as it
 * was, every trigger must be back exactly as it was, and sync tokens handed out before must still
 * give exactly the changes made after them.
 */
import { applyD1Migrations } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Task } from '../../src/tasks/model'
import { countingDb, feed, type RequestOptions, request, type SignedIn, signIn } from '../helpers'

const MIGRATION = '0011_tasks_without_rowid.sql'
const db = env.REBUILD_DB

const api = (user: SignedIn, path: string, init: Omit<RequestOptions, 'token' | 'env'> = {}) =>
  request(path, { ...init, token: user.token, env: { DB: db } })

async function create(
  user: SignedIn,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Task> {
  const res = await api(user, '/tasks', { method: 'POST', body, headers })
  expect(res.status).toBe(201)
  return res.json<Task>()
}

const changes = (user: SignedIn, since?: string) => feed(user, since, undefined, { DB: db })

/** Everything the migration copies or must leave alone, as stored. */
async function snapshot() {
  const all = (sql: string) =>
    db
      .prepare(sql)
      .all()
      .then((r) => r.results)
  return {
    // Generated columns too: they must compute the same from the copied values.
    // changed_by is 0014's, which the rebuild does not copy (it only names the last write's door).
    tasks: (await all('SELECT *, priority_rank, due_nulls_high, due_nulls_low FROM tasks ORDER BY id')).map(
      ({ changed_by: _, ...row }) => row,
    ),
    counts: await all('SELECT * FROM task_counts ORDER BY user_id'),
    tombstones: await all('SELECT * FROM task_tombstones ORDER BY user_id, seq'),
    reminders: await all('SELECT * FROM task_reminders ORDER BY task_id'),
    keys: await all('SELECT * FROM idempotency_keys ORDER BY user_id, key'),
  }
}

const triggersOnTasks = () =>
  db
    // The event log's triggers are 0014's, after the rebuild.
    .prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tasks' AND name NOT LIKE 'task_events_%' ORDER BY name",
    )
    .all<{ name: string; sql: string }>()
    .then((r) => r.results)

let user: SignedIn
let other: SignedIn
const tasks: Task[] = []
let caughtUp: string
let early: string
let before: Awaited<ReturnType<typeof snapshot>>
let triggersBefore: { name: string; sql: string }[]
const key = crypto.randomUUID()

beforeAll(async () => {
  user = await signIn()
  other = await signIn()
  await applyD1Migrations(
    db,
    env.TEST_MIGRATIONS.filter((m) => m.name < MIGRATION),
  )
  // Today's code writes what migrations/0014 adds: the column (which the rebuild does not copy, and
  // 0014 adds again) and, for a delete's event, a table (dropped before the migrations run); and
  // reads what 0015 adds (dropped before the migrations run, which add it again).
  await db.batch([
    db.prepare('ALTER TABLE tasks ADD COLUMN changed_by TEXT'),
    db.prepare('ALTER TABLE task_counts ADD COLUMN live_until INTEGER NOT NULL DEFAULT 0'),
    db.prepare(
      `CREATE TABLE task_events (user_id, seq, id, type, task_id, task_number, task, door, client_id, created_at,
                                 delivery, next_attempt_at)`,
    ),
  ])
  // Through the API on the old schema: a plain task, one with a due date and a reminder, a
  // recurring one, a completed one, and a create with an Idempotency-Key.
  tasks.push(await create(user, { title: 'Plain' }))
  tasks.push(await create(user, { title: 'Due', dueAt: '2027-03-01T09:00:00Z', remindAt: '2027-03-01T08:00:00Z' }))
  early = (await changes(user)).token
  tasks.push(
    await create(user, { title: 'Weekly', dueAt: '2027-03-02T09:00:00Z', recurrence: { frequency: 'weekly' } }),
  )
  tasks.push(await create(user, { title: 'Done', completed: true, priority: 'high' }))
  tasks.push(await create(user, { title: 'Keyed' }, { 'Idempotency-Key': key }))
  expect((await api(user, `/tasks/${tasks[0]!.id}`, { method: 'PATCH', body: { priority: 'low' } })).status).toBe(200)
  expect((await api(user, `/tasks/${tasks[3]!.id}`, { method: 'DELETE' })).status).toBe(204)
  caughtUp = (await changes(user)).token
  // After the caught-up token, still on the old schema: an edit, a deletion, a new task.
  expect((await api(user, `/tasks/${tasks[1]!.id}`, { method: 'PATCH', body: { title: 'Due, edited' } })).status).toBe(
    200,
  )
  expect((await api(user, `/tasks/${tasks[4]!.id}`, { method: 'DELETE' })).status).toBe(204)
  tasks.push(await create(user, { title: 'Late' }))
  // Another user, whose only task is gone: a counter row and a tombstone.
  const gone = await create(other, { title: 'Gone' })
  expect((await api(other, `/tasks/${gone.id}`, { method: 'DELETE' })).status).toBe(204)

  before = await snapshot()
  triggersBefore = await triggersOnTasks()
  expect(before.tasks).toHaveLength(4)
  expect(before.tombstones).toHaveLength(3)
  expect(before.reminders).toHaveLength(1)
  expect(before.keys).toHaveLength(1)

  await db.batch([db.prepare('DROP TABLE task_events'), db.prepare('ALTER TABLE task_counts DROP COLUMN live_until')])
  await applyD1Migrations(db, env.TEST_MIGRATIONS)
})

describe(`migrations/${MIGRATION} on data written by the schema before it`, () => {
  it('keeps every row, counter, tombstone, reminder and key record exactly as it was', async () => {
    expect(await snapshot()).toEqual(before)
  })

  it('makes tasks a WITHOUT ROWID table with the indexes the sorts use, and every trigger as it was', async () => {
    const { sql } = (await db.prepare("SELECT sql FROM sqlite_master WHERE name = 'tasks'").first<{ sql: string }>())!
    expect(sql).toMatch(/\) STRICT, WITHOUT ROWID$/)
    const indexes = await db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks' ORDER BY name")
      .all<{ name: string }>()
    expect(indexes.results.map((r) => r.name)).toEqual([
      'tasks_by_user_completed_number',
      'tasks_by_user_due_nulls_high',
      'tasks_by_user_due_nulls_low',
      'tasks_by_user_number',
      'tasks_by_user_priority',
      'tasks_by_user_remind',
      'tasks_by_user_seq',
      'tasks_by_user_title',
    ])
    expect(await triggersOnTasks()).toEqual(triggersBefore)
    expect(triggersBefore).toHaveLength(15)
  })

  it('gives each old token exactly the changes after it, and numbers new writes after the old ones', async () => {
    const [plain, due, weekly, done, keyed, late] = tasks.map((t) => t.id)
    const sinceCaughtUp = await changes(user, caughtUp)
    expect(sinceCaughtUp.tasks.map((t) => t.id)).toEqual([due, late])
    expect(sinceCaughtUp.deleted).toEqual([keyed])
    const sinceEarly = await changes(user, early)
    expect(sinceEarly.tasks.map((t) => t.id)).toEqual([weekly, plain, due, late])
    expect(sinceEarly.deleted).toEqual([done, keyed])

    // A write after the migration is the next change after every old one, through the new table.
    expect((await api(user, `/tasks/${plain}`, { method: 'PATCH', body: { completed: true } })).status).toBe(200)
    const next = await changes(user, sinceCaughtUp.token)
    expect(next.tasks.map((t) => t.id)).toEqual([plain])
    expect(next.deleted).toEqual([])
    const counted = await db
      .prepare('SELECT n, seq, last_number FROM task_counts WHERE user_id = ?1')
      .bind(user.id)
      .first()
    const newest = await db.prepare('SELECT max(seq) AS seq FROM tasks WHERE user_id = ?1').bind(user.id).first()
    expect(counted).toEqual({ n: 4, seq: newest!.seq, last_number: 6 })
  })

  it('replays the Idempotency-Key recorded before it, and lists in the order of creation and of writes', async () => {
    const replay = await api(user, '/tasks', {
      method: 'POST',
      body: { title: 'Keyed' },
      headers: { 'Idempotency-Key': key },
    })
    expect(replay.status).toBe(201)
    expect(replay.headers.get('Idempotent-Replayed')).toBe('true')
    expect((await replay.json<Task>()).id).toBe(tasks[4]!.id)

    const titles = async (query: string) =>
      (await (await api(user, `/tasks?${query}`)).json<{ items: Task[] }>()).items.map((t) => t.title)
    expect(await titles('sort=createdAt')).toEqual(['Plain', 'Due, edited', 'Weekly', 'Late'])
    expect(await titles('sort=-updatedAt')).toEqual(['Plain', 'Late', 'Due, edited', 'Weekly'])
  })

  it('writes as few rows on the rebuilt table as on a new database', async () => {
    const { db: counting, counter } = countingDb(db)
    const res = await request('/tasks', {
      method: 'POST',
      token: user.token,
      body: { title: 'Cheap' },
      env: { DB: counting },
    })
    expect(res.status).toBe(201)
    // The rows test/tasks/rows-written.test.ts budgets for a create (docs/performance.md, "Rows written").
    // And its event (migrations/0014).
    expect(counter.rowsWritten).toBe(10)
  })
})
