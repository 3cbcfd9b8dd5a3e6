/** What the Idempotency-Key tests share: keyed creates, and the tasks and records D1 stores. */
import { env } from 'cloudflare:workers'
import type { SignedIn } from '../helpers'

export const HOUR = 60 * 60 * 1000

export const create = (user: SignedIn, key: string | undefined, body: unknown) =>
  user.request('/tasks', { method: 'POST', body, ...(key !== undefined && { headers: { 'Idempotency-Key': key } }) })

export const tasksOf = async (userId: string) =>
  (await env.DB.prepare('SELECT id FROM tasks WHERE user_id = ?1').bind(userId).all<{ id: string }>()).results.map(
    (r) => r.id,
  )

export interface KeyRecord {
  user_id: string
  key: string
  request_hash: string
  task_id: string
  status: number
  response_body: string
  created_at: string
}

export const recordsOf = async (userId: string) =>
  (await env.DB.prepare('SELECT * FROM idempotency_keys WHERE user_id = ?1').bind(userId).all<KeyRecord>()).results

/** Moves a record's creation back in time, as if it had been made `ms` ago. */
export const age = (userId: string, key: string, ms: number) =>
  env.DB.prepare('UPDATE idempotency_keys SET created_at = ?3 WHERE user_id = ?1 AND key = ?2')
    .bind(userId, key, new Date(Date.now() - ms).toISOString())
    .run()

/** status, body text and Location: everything a retry must get back unchanged. */
export const snapshot = async (res: Response) => ({
  status: res.status,
  body: await res.text(),
  location: res.headers.get('Location'),
  contentType: res.headers.get('Content-Type'),
})
