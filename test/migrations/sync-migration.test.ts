/**
 * migrations/0010 on a database written by the schema before it: tasks, tombstones and
 * Idempotency-Key records written through the old triggers, and sync tokens handed out then, must
 * come through with every token still giving exactly the changes made after it.
 */
import { applyD1Migrations } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { userPseudonym } from '../../src/hash'
import { encodeToken } from '../../src/tasks/sync-token'
import { feed, request, type SignedIn, signIn } from '../helpers'

const MIGRATION = '0010_one_write_per_task.sql'
const db = env.MIGRATION_DB
const at = (n: number) => `2026-01-01T00:00:${String(n).padStart(2, '0')}.000Z`
const taskId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

// The statements the API ran before 0010, which set no sequence number: the old triggers did.
const oldInsert = (userId: string, n: number) =>
  db
    .prepare(
      `INSERT INTO tasks (id, user_id, title, description, completed, priority, due_at, tags, created_at, updated_at, number)
       VALUES (?2, ?1, ?3, '', 0, 'medium', NULL, '[]', ?4, ?4,
               coalesce((SELECT last_number FROM task_counts WHERE user_id = ?1), 0) + 1)`,
    )
    .bind(userId, taskId(n), `Task ${n}`, at(n))
    .run()
const oldUpdate = (userId: string, n: number, title: string) =>
  db
    .prepare('UPDATE tasks SET title = ?3, version = version + 1 WHERE user_id = ?1 AND id = ?2')
    .bind(userId, taskId(n), title)
    .run()
const oldDelete = (userId: string, n: number) =>
  db.prepare('DELETE FROM tasks WHERE user_id = ?1 AND id = ?2').bind(userId, taskId(n)).run()

const tokenAt = async (userId: string, after: number, tombstonesAfter = after) =>
  encodeToken({ after, tombstonesAfter, user: await userPseudonym(userId) })

// Since 0007 a user's sequence starts at the moment of their first write, with the horizon there.
const oldSync = async (userId: string) =>
  (await db.prepare('SELECT seq, horizon FROM task_sync WHERE user_id = ?1').bind(userId).first<{
    seq: number
    horizon: number
  }>())!

const changes = (user: SignedIn, since: string) => feed(user, since, undefined, { DB: db })

let user: SignedIn
let other: SignedIn
/** The horizons the old schema gave each user: every sequence number below is relative to them. */
let base: number
let otherBase: number
const tokens: Record<string, string> = {}

beforeAll(async () => {
  user = await signIn()
  other = await signIn()
  await applyD1Migrations(
    db,
    env.TEST_MIGRATIONS.filter((m) => m.name < MIGRATION),
  )
  // seq 1, 2, 3; then 4 (task 2 again) and 5 (the tombstone of task 3).
  for (const n of [1, 2, 3]) await oldInsert(user.id, n)
  await oldUpdate(user.id, 2, 'Task 2, edited')
  await oldDelete(user.id, 3)
  // Another user, whose only task is deleted: a sequence row and a tombstone but a count of 0.
  await oldInsert(other.id, 20)
  await oldDelete(other.id, 20)
  await db
    .prepare(
      `INSERT INTO idempotency_keys (user_id, key, request_hash, task_id, status, response_body, created_at)
       VALUES (?1, 'key-1', ?2, ?3, 201, '{}', ?4)`,
    )
    .bind(user.id, 'a'.repeat(64), taskId(1), new Date().toISOString())
    .run()
  const sync = await oldSync(user.id)
  base = sync.horizon
  otherBase = (await oldSync(other.id)).horizon
  expect(base).toBeGreaterThan(0)
  expect(sync.seq).toBe(base + 5)
  // A client caught up at 5, and one that last synced at 2 (before the edit and the deletion).
  tokens.caughtUp = await tokenAt(user.id, base + 5)
  tokens.early = await tokenAt(user.id, base + 2)
  tokens.other = await tokenAt(other.id, otherBase + 1)
  // Written after those tokens, still by the old schema: 6 (task 1), 7 (task 4), 8 (tombstone of 2).
  await oldUpdate(user.id, 1, 'Task 1, edited')
  await oldInsert(user.id, 4)
  await oldDelete(user.id, 2)

  await applyD1Migrations(db, env.TEST_MIGRATIONS)
})

describe(`migrations/${MIGRATION} on data written by the old schema`, () => {
  it('moves every counter into the one task_counts row and drops task_sync', async () => {
    const rows = await db
      .prepare(
        `SELECT user_id, n, seq, horizon, idempotency_keys, tombstones FROM task_counts
         WHERE user_id IN (?1, ?2) ORDER BY n DESC`,
      )
      .bind(user.id, other.id)
      .all()
    expect(rows.results).toEqual([
      { user_id: user.id, n: 2, seq: base + 8, horizon: base, idempotency_keys: 1, tombstones: 2 },
      { user_id: other.id, n: 0, seq: otherBase + 2, horizon: otherBase, idempotency_keys: 0, tombstones: 1 },
    ])
    const table = await db.prepare("SELECT name FROM sqlite_master WHERE name = 'task_sync'").first()
    expect(table).toBeNull()
    const key = await db.prepare('SELECT task_id FROM idempotency_keys WHERE user_id = ?1').bind(user.id).first()
    expect(key).toEqual({ task_id: taskId(1) })
  })

  it('gives each old token exactly the changes after it, those from before and after the migration', async () => {
    // After the migration, through the API (seq 9: task 4, 10: a new task, 11: the tombstone of 1),
    // and through a statement that sets no sequence number (12: task 5).
    const patched = await request(`/tasks/${taskId(4)}`, {
      method: 'PATCH',
      token: user.token,
      body: { priority: 'high' },
      env: { DB: db },
    })
    expect(patched.status).toBe(200)
    const created = await request('/tasks', {
      method: 'POST',
      token: user.token,
      body: { title: 'New' },
      env: { DB: db },
    })
    expect(created.status).toBe(201)
    const { id: newId } = await created.json<{ id: string }>()
    expect(
      (await request(`/tasks/${taskId(1)}`, { method: 'DELETE', token: user.token, env: { DB: db } })).status,
    ).toBe(204)
    await oldInsert(user.id, 5)

    const stored = await db
      .prepare(
        `SELECT id, seq FROM tasks WHERE user_id = ?1
         UNION ALL SELECT id, seq FROM task_tombstones WHERE user_id = ?1 ORDER BY seq`,
      )
      .bind(user.id)
      .all<{ id: string; seq: number }>()
    expect(stored.results).toEqual([
      { id: taskId(3), seq: base + 5 },
      { id: taskId(2), seq: base + 8 },
      { id: taskId(4), seq: base + 9 },
      { id: newId, seq: base + 10 },
      { id: taskId(1), seq: base + 11 },
      { id: taskId(5), seq: base + 12 },
    ])
    // 0007's counters stay true through 0010's triggers: three tombstones, the one key record.
    const counted = await db
      .prepare('SELECT n, seq, horizon, idempotency_keys, tombstones FROM task_counts WHERE user_id = ?1')
      .bind(user.id)
      .first()
    expect(counted).toEqual({ n: 3, seq: base + 12, horizon: base, idempotency_keys: 1, tombstones: 3 })

    const sinceCaughtUp = await changes(user, tokens.caughtUp!)
    expect(sinceCaughtUp.tasks.map((t) => t.id)).toEqual([taskId(4), newId, taskId(5)])
    expect(sinceCaughtUp.deleted).toEqual([taskId(2), taskId(1)])
    expect(sinceCaughtUp.hasMore).toBe(false)

    const sinceEarly = await changes(user, tokens.early!)
    expect(sinceEarly.tasks.map((t) => t.id)).toEqual([taskId(4), newId, taskId(5)])
    expect(sinceEarly.deleted).toEqual([taskId(3), taskId(2), taskId(1)])

    // And the tokens those pages hand out are current: nothing more since them.
    for (const page of [sinceCaughtUp, sinceEarly]) {
      const next = await changes(user, page.token)
      expect(next).toMatchObject({ tasks: [], deleted: [], hasMore: false })
    }

    const otherSince = await changes(other, tokens.other!)
    expect(otherSince).toMatchObject({ tasks: [], deleted: [taskId(20)], hasMore: false })
  })
})
