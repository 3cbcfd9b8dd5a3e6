/**
 * Migrations on data the schema before them wrote: an empty database is migrated up to the one
 * under test, filled through the old schema, then migrated the rest of the way, as production is.
 * And the rule for schema changes after 0011 (docs/operations.md): additive, so that each runs in
 * bounded time on a large database, timed here on the quota's worth of tasks for a few users.
 */
import { applyD1Migrations, type D1Migration } from 'cloudflare:test'
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

/** The last migration that rewrites a table; every one after it must be additive (docs/operations.md). */
const LAST_REBUILD = '0011_tasks_without_rowid.sql'

/**
 * The statements of `migration` whose time grows with the data already stored: anything but
 * creating tables, indexes, triggers or views, dropping indexes, triggers or views, adding a column,
 * and writing constant rows (or rows read from tables the same migration created).
 */
function unbounded(migration: D1Migration): string[] {
  const created = new Set<string>()
  const found: string[] = []
  for (const query of migration.queries) {
    const sql = query.replace(/--.*$/gm, '').replace(/\s+/g, ' ').trim()
    const readsExisting = [...sql.matchAll(/\b(?:FROM|JOIN) "?(\w+)/gi)].some(([, t]) => !created.has(t!.toLowerCase()))
    const newTable = /^CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)/i.exec(sql)?.[1]
    if (newTable) {
      created.add(newTable.toLowerCase())
      // CREATE TABLE ... AS SELECT copies what it reads.
      if (/\bAS SELECT\b/i.test(sql) && readsExisting) found.push(sql)
      continue
    }
    if (
      /^(CREATE (UNIQUE )?INDEX|CREATE TRIGGER|CREATE VIEW|DROP (INDEX|TRIGGER|VIEW)|ALTER TABLE "?\w+"? ADD)\b/i.test(
        sql,
      )
    )
      continue
    const target = /^(?:INSERT(?: OR \w+)? INTO|REPLACE INTO|UPDATE|DELETE FROM|DROP TABLE(?: IF EXISTS)?) "?(\w+)/i
      .exec(sql)?.[1]
      ?.toLowerCase()
    const constantRows = /^(INSERT|REPLACE)\b/i.test(sql) && !readsExisting
    if (target !== undefined && (constantRows || (created.has(target) && !readsExisting))) continue
    found.push(sql)
  }
  return found
}

describe(`schema changes after ${LAST_REBUILD}`, () => {
  const later = env.TEST_MIGRATIONS.filter((m) => m.name > LAST_REBUILD)

  it('are additive: no statement whose time grows with the rows already stored', () => {
    for (const migration of later) expect(unbounded(migration), migration.name).toEqual([])
  })

  it('are held to a rule that refuses the copies, rewrites and drops of earlier migrations', () => {
    const byName = (name: string) => env.TEST_MIGRATIONS.find((m) => m.name.startsWith(name))!
    // 0011 copies tasks whole and drops the old table; 0006 numbers every task; 0010 drops task_sync.
    expect(unbounded(byName('0011'))).toEqual([
      expect.stringMatching(/^INSERT INTO tasks_rebuilt .* FROM tasks$/),
      'DROP TABLE tasks',
      expect.stringMatching(/^ALTER TABLE tasks_rebuilt RENAME TO tasks$/),
    ])
    expect(unbounded(byName('0006'))).toContainEqual(expect.stringMatching(/^UPDATE tasks\b/))
    expect(unbounded(byName('0010'))).toContain('DROP TABLE task_sync')
    // Tables, indexes and triggers only: additive.
    for (const name of ['0001', '0003', '0005', '0009']) expect(unbounded(byName(name)), name).toEqual([])
  })
})

describe('every migration after 0010, on the task quota of a few users', () => {
  const db = env.UPGRADE_DB
  const USERS = 3
  /** The shipped TASK_QUOTA's default: the most tasks a user can have. */
  const QUOTA = 10_000
  /** Half of D1's 30 s limit on a query: here on shared cores, it leaves room for a loaded machine. */
  const BOUND_MS = 15_000
  const timings: { name: string; ms: number }[] = []

  beforeAll(async () => {
    await applyD1Migrations(db, before('0011'))
    for (let u = 0; u < USERS; u++) {
      // Each a task of every kind at once: a description, tags, a due date, a reminder, a recurrence.
      await db
        .prepare(
          `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
           INSERT INTO tasks (id, user_id, title, description, priority, tags, due_at, remind_at,
                              recurrence, series_start, created_at, updated_at, number)
           SELECT printf('%08d-0000-4000-8000-%012d', ?3, i), ?1, 'task ' || i, printf('%0300d', i),
                  'high', '["home","errands"]', '2027-01-01T09:00:00.000Z', '2027-01-01T08:00:00.000Z',
                  '{"frequency":"weekly"}', '2027-01-01T09:00:00.000Z',
                  '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', i
           FROM n`,
        )
        .bind(`upgrade-user-${u}`, QUOTA, u)
        .run()
    }
    for (const migration of env.TEST_MIGRATIONS.filter((m) => m.name >= '0011')) {
      const started = performance.now()
      await applyD1Migrations(db, [migration])
      timings.push({ name: migration.name, ms: Math.round(performance.now() - started) })
    }
  }, 300_000)

  it(`each runs in well under D1's query limit, and keeps every task`, async ({ annotate }) => {
    expect(timings.length).toBeGreaterThan(0)
    for (const { name, ms } of timings) {
      await annotate(`${name}: ${ms} ms on ${USERS * QUOTA} tasks`)
      expect(ms, name).toBeLessThan(BOUND_MS)
    }
    const { n } = (await db.prepare('SELECT count(*) AS n FROM tasks').first<{ n: number }>())!
    expect(n).toBe(USERS * QUOTA)
  })
})
