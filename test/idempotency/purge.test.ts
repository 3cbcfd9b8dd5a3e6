/** The hourly purge of expired Idempotency-Key records. */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import { PURGE_BATCH_SIZE, purgeExpiredIdempotencyKeys } from '../../src/idempotency/repo'
import worker from '../../src/index'
import type { Task } from '../../src/tasks/model'
import { signIn } from '../helpers'
import { create, HOUR, recordsOf, tasksOf } from './records'

describe('the scheduled purge of Idempotency-Key records', () => {
  /** Runs the worker's scheduled handler as the Cron Trigger would at `now`, and waits for its jobs. */
  async function runCron(now: number) {
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: '0 * * * *' }), env, ctx)
    await waitOnExecutionContext(ctx)
  }

  /** A record made `ms` before `now` for a fresh user, straight into D1. */
  async function recordAged(now: number, ms: number) {
    const user = await signIn()
    const key = `aged-${ms}`
    expect((await create(user, key, { title: 'x' })).status).toBe(201)
    await env.DB.prepare('UPDATE idempotency_keys SET created_at = ?2 WHERE user_id = ?1')
      .bind(user.id, new Date(now - ms).toISOString())
      .run()
    return { user, key }
  }

  it('deletes records older than 24 hours at the scheduled time and keeps younger ones', async () => {
    const now = Date.now()
    const old = await recordAged(now, 24 * HOUR + 1_000)
    const ancient = await recordAged(now, 30 * 24 * HOUR)
    const fresh = await recordAged(now, 24 * HOUR - 60_000)
    const justNow = await recordAged(now, 0)

    await runCron(now)

    expect(await recordsOf(old.user.id)).toEqual([])
    expect(await recordsOf(ancient.user.id)).toEqual([])
    expect(await recordsOf(fresh.user.id)).toHaveLength(1)
    expect(await recordsOf(justNow.user.id)).toHaveLength(1)
  })

  it('still runs when the tombstone purge fails first, and then reports the failure', async () => {
    const now = Date.now()
    const { user, key } = await recordAged(now, 25 * 60 * 60 * 1000)
    // D1 that fails only the tombstone purge's batch (count, horizon, delete: the only batch the
    // scheduled jobs send); every other call reaches the real database.
    const DB = new Proxy(env.DB, {
      get: (target, prop) =>
        prop === 'batch'
          ? (statements: D1PreparedStatement[]) =>
              statements.length === 3
                ? Promise.reject(new Error('D1_ERROR: tombstones unavailable'))
                : target.batch(statements)
          : prop === 'prepare'
            ? (sql: string) => target.prepare(sql)
            : Reflect.get(target, prop, target),
    })
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const ctx = createExecutionContext()
    await expect(
      worker.scheduled(createScheduledController({ scheduledTime: now, cron: '17 * * * *' }), { ...env, DB }, ctx),
    ).rejects.toThrow(/tombstones/)
    await waitOnExecutionContext(ctx)
    expect(error.mock.calls.map((call) => JSON.parse(String(call[0])))).toEqual([
      expect.objectContaining({ message: 'purge failed', job: 'tombstones' }),
    ])
    error.mockRestore()
    const left = await env.DB.prepare('SELECT count(*) AS n FROM idempotency_keys WHERE user_id = ?1 AND key = ?2')
      .bind(user.id, key)
      .first<{ n: number }>()
    expect(left?.n).toBe(0)
  })

  it('makes a retry after the purge create a new task', async () => {
    const now = Date.now()
    const { user, key } = await recordAged(now, 25 * HOUR)
    const [first] = await tasksOf(user.id)
    await runCron(now)
    const retry = await create(user, key, { title: 'x' })
    expect(retry.status).toBe(201)
    expect(retry.headers.get('Idempotent-Replayed')).toBeNull()
    expect((await retry.json<Task>()).id).not.toBe(first)
    expect(await tasksOf(user.id)).toHaveLength(2)
  })

  it('deletes in batches until none are left', async () => {
    const now = Date.now()
    const user = await signIn()
    const old = new Date(now - 48 * HOUR).toISOString()
    const count = PURGE_BATCH_SIZE * 2 + 7
    const insert = env.DB.prepare(
      `INSERT INTO idempotency_keys (user_id, key, request_hash, task_id, status, response_body, created_at)
       VALUES (?1, ?2, ?3, ?4, 201, '{}', ?5)`,
    )
    await env.DB.batch(
      Array.from({ length: count }, (_, i) =>
        insert.bind(user.id, `bulk-${i}`, 'a'.repeat(64), crypto.randomUUID(), old),
      ),
    )
    expect(await purgeExpiredIdempotencyKeys(env.DB, new Date(now).toISOString())).toBeGreaterThanOrEqual(count)
    expect(await recordsOf(user.id)).toEqual([])
  })

  it('finds expired records through the created_at index, without a scan', async () => {
    const { results } = await env.DB.prepare(
      'EXPLAIN QUERY PLAN SELECT rowid FROM idempotency_keys WHERE created_at <= ?1 LIMIT ?2',
    )
      .bind('2026-01-01T00:00:00.000Z', PURGE_BATCH_SIZE)
      .all<{ detail: string }>()
    const plan = results.map((r) => r.detail).join(' | ')
    expect(plan).toMatch(
      /SEARCH idempotency_keys USING (COVERING )?INDEX idempotency_keys_by_created \(created_at<\?\)/,
    )
    expect(plan).not.toMatch(/SCAN/)
  })
})
