/**
 * The change sequence's triggers (migrations/0010): a write sets its task's sequence number itself,
 * and the schema refuses any number but the user's next one, so that no write path can reorder or
 * hide a change in the sync feed; a write that sets none is numbered afterwards, as before.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { signIn } from '../helpers'

// Numbers relative to the user's horizon: a sequence starts at the moment of the first write (0007).
const horizonOf = async (userId: string) =>
  (await env.DB.prepare('SELECT horizon FROM task_counts WHERE user_id = ?1').bind(userId).first<number>('horizon'))!
const counter = async (userId: string) => {
  const row = (await env.DB.prepare('SELECT n, seq, horizon FROM task_counts WHERE user_id = ?1')
    .bind(userId)
    .first<{ n: number; seq: number; horizon: number }>())!
  return { n: row.n, seq: row.seq - row.horizon }
}
const seqOf = async (id: string) => {
  const { seq, user_id } = (await env.DB.prepare('SELECT seq, user_id FROM tasks WHERE id = ?1')
    .bind(id)
    .first<{ seq: number; user_id: string }>())!
  return seq - (await horizonOf(user_id))
}

describe('the change sequence', () => {
  it("starts a user's sequence at the moment of their first write, also when the counter row exists", async () => {
    const fresh = await signIn()
    const keyed = await signIn()
    // An Idempotency-Key record alone makes the counter row (0007's count), with no sequence yet.
    await env.DB.prepare(
      `INSERT INTO idempotency_keys (user_id, key, request_hash, task_id, status, response_body, created_at)
       VALUES (?1, 'k', ?2, ?3, 201, '{}', ?4)`,
    )
      .bind(keyed.id, 'a'.repeat(64), crypto.randomUUID(), new Date().toISOString())
      .run()
    expect(
      await env.DB.prepare('SELECT seq, horizon, idempotency_keys FROM task_counts WHERE user_id = ?1')
        .bind(keyed.id)
        .first(),
    ).toEqual({ seq: 0, horizon: 0, idempotency_keys: 1 })
    for (const user of [fresh, keyed]) {
      const before = Date.now() * 1000
      const task = await user.createTask()
      const horizon = await horizonOf(user.id)
      expect(horizon).toBeGreaterThanOrEqual(before - 1000)
      expect(horizon).toBeLessThanOrEqual(Date.now() * 1000 + 1000)
      expect(await seqOf(task.id)).toBe(1)
    }
  })

  it('gives every API write the next number, on the task row and in the one counter row', async () => {
    const user = await signIn()
    const first = await user.createTask()
    const second = await user.createTask()
    expect([await seqOf(first.id), await seqOf(second.id)]).toEqual([1, 2])
    await user.request(`/tasks/${first.id}`, { method: 'PATCH', body: { title: 'again' } })
    expect(await seqOf(first.id)).toBe(3)
    expect(await counter(user.id)).toEqual({ n: 2, seq: 3 })
  })

  it('refuses, and changes nothing, when a write sets a number other than the next', async () => {
    const user = await signIn()
    const task = await user.createTask()
    // (Setting it to its current value is setting none: see the next test.)
    for (const seq of [(await horizonOf(user.id)) + 3, 0, -1]) {
      await expect(
        env.DB.prepare('UPDATE tasks SET seq = ?2, version = version + 1 WHERE id = ?1').bind(task.id, seq).run(),
      ).rejects.toThrow(/next sequence number|version/)
    }
    await expect(
      env.DB.prepare(
        `INSERT INTO tasks (id, user_id, title, created_at, updated_at, number, seq)
         VALUES (?1, ?2, 'x', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 2, ?3)`,
      )
        .bind(crypto.randomUUID(), user.id, (await horizonOf(user.id)) + 5)
        .run(),
    ).rejects.toThrow(/next sequence number/)
    expect(await seqOf(task.id)).toBe(1)
    expect(await counter(user.id)).toEqual({ n: 1, seq: 1 })
  })

  it('numbers a write that sets no number afterwards, as the triggers always did', async () => {
    const user = await signIn()
    const task = await user.createTask()
    await env.DB.prepare("UPDATE tasks SET title = 'raw', version = version + 1 WHERE id = ?1").bind(task.id).run()
    expect(await seqOf(task.id)).toBe(2)
    const id = crypto.randomUUID()
    await env.DB.prepare(
      `INSERT INTO tasks (id, user_id, title, created_at, updated_at, number)
       VALUES (?1, ?2, 'raw', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 2)`,
    )
      .bind(id, user.id)
      .run()
    expect(await seqOf(id)).toBe(3)
    expect(await counter(user.id)).toEqual({ n: 2, seq: 3 })
  })

  it('still refuses a write that does not bump the version', async () => {
    const user = await signIn()
    const task = await user.createTask()
    await expect(env.DB.prepare("UPDATE tasks SET title = 'sneaky' WHERE id = ?1").bind(task.id).run()).rejects.toThrow(
      /version/,
    )
  })
})
