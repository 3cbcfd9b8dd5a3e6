/**
 * Migrations on data the schema before them wrote: an empty database is migrated up to the one
 * under test, filled through the old schema, then migrated the rest of the way, as production is.
 */
import { applyD1Migrations } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Task } from '../../src/tasks/model'
import { request, tokenFor } from '../helpers'

const db = env.MIGRATIONS_DB
const before = (name: string) => env.TEST_MIGRATIONS.filter((m) => m.name < name)

interface Row {
  id: string
  user_id: string
  number: number | null
  version: number
  seq: number
}

const rowsOf = async (userId: string) =>
  (
    await db
      .prepare('SELECT id, user_id, number, version, seq FROM tasks WHERE user_id = ?1 ORDER BY number')
      .bind(userId)
      .all<Row>()
  ).results

/** Ids in the order the old schema cannot express but 0006 must: created_at, then id. */
const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

describe('migration 0006 (task numbers) on data written by 0001-0005', () => {
  const alice = 'user-alice'
  const bob = 'user-bob'
  let seqBefore: Record<string, number>

  beforeAll(async () => {
    await applyD1Migrations(db, before('0006'))
    const insert = (id: string, userId: string, createdAt: string) =>
      db
        .prepare('INSERT INTO tasks (id, user_id, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)')
        .bind(id, userId, `task ${id.slice(-2)}`, createdAt)
    await db.batch([
      // Inserted newest first; two share a creation time, so the id decides between them.
      insert(ID(3), alice, '2026-01-03T00:00:00.000Z'),
      insert(ID(2), alice, '2026-01-02T00:00:00.000Z'),
      insert(ID(12), alice, '2026-01-01T00:00:00.000Z'),
      insert(ID(11), alice, '2026-01-01T00:00:00.000Z'),
      insert(ID(21), bob, '2026-02-01T00:00:00.000Z'),
      insert(ID(22), bob, '2026-02-02T00:00:00.000Z'),
    ])
    // A deleted task leaves its user's counter row behind, and a tombstone.
    await db.prepare('DELETE FROM tasks WHERE id = ?1').bind(ID(22)).run()
    seqBefore = Object.fromEntries(
      (await db.prepare('SELECT id, seq FROM tasks').all<{ id: string; seq: number }>()).results.map((r) => [
        r.id,
        r.seq,
      ]),
    )
    await applyD1Migrations(db, env.TEST_MIGRATIONS)
  })

  it("numbers each user's existing tasks 1, 2, 3... oldest first, ties by id", async () => {
    expect((await rowsOf(alice)).map((r) => [r.number, r.id])).toEqual([
      [1, ID(11)],
      [2, ID(12)],
      [3, ID(2)],
      [4, ID(3)],
    ])
    expect((await rowsOf(bob)).map((r) => [r.number, r.id])).toEqual([[1, ID(21)]])
  })

  it("records each user's last number, and bumps every numbered task's version and sequence number", async () => {
    const counts = await db
      .prepare('SELECT user_id, n, last_number FROM task_counts ORDER BY user_id')
      .all<{ user_id: string; n: number; last_number: number }>()
    expect(counts.results).toEqual([
      { user_id: alice, n: 4, last_number: 4 },
      { user_id: bob, n: 1, last_number: 1 },
    ])
    for (const row of [...(await rowsOf(alice)), ...(await rowsOf(bob))]) {
      // Its representation changed (it now has a number): a new ETag, and the sync feed sends it again.
      expect(row.version, row.id).toBe(2)
      expect(row.seq, row.id).toBeGreaterThan(seqBefore[row.id]!)
    }
  })

  it('gives the next task created through the API the next number, after the old ones', async () => {
    const res = await request('/tasks', {
      method: 'POST',
      token: await tokenFor(alice),
      body: { title: 'after the migration' },
      env: { DB: db },
    })
    expect(res.status).toBe(201)
    expect((await res.json<Task>()).number).toBe(5)
    const compat = await request('/api/tasks', {
      method: 'POST',
      token: await tokenFor(bob),
      body: { title: 'after the migration' },
      env: { DB: db },
    })
    expect(compat.status).toBe(201)
    expect((await compat.json<{ id: number }>()).id).toBe(2)
  })

  it('makes get-by-number an index seek', async () => {
    const { results } = await db
      .prepare('EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE user_id = ?1 AND number = ?2')
      .bind(alice, 1)
      .all<{ detail: string }>()
    expect(results.map((r) => r.detail).join('\n')).toMatch(
      /^SEARCH tasks USING (COVERING )?INDEX tasks_by_user_number \(user_id=\? AND number=\?\)$/,
    )
  })
})
