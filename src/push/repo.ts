/**
 * Every SQL statement for push subscriptions. As for tasks, the user id is always ?1 and every
 * statement is scoped by it: a subscription is only ever read, listed or deleted by its owner. The
 * one exception is the move in saveSubscription: subscribing a browser takes it from whichever
 * account had it, by its exact endpoint.
 */
import { type Db, d1 } from '../db'
import type { Subscription } from './send'

/** What the API shows of a subscription; its keys stay on the server. */
export interface StoredSubscription {
  id: string
  endpoint: string
  createdAt: string
}

interface SubscriptionRow {
  id: string
  endpoint: string
  created_at: string
}

const toSubscription = (row: SubscriptionRow): StoredSubscription => ({
  id: row.id,
  endpoint: row.endpoint,
  createdAt: row.created_at,
})

export type SaveResult =
  | { outcome: 'created' | 'updated'; subscription: StoredSubscription }
  /** The user has `max` subscriptions and this endpoint is not one of them; nothing was written. */
  | { outcome: 'over-limit' }

/**
 * Stores the browser's subscription, or renews the keys of the one with the same endpoint (a browser
 * that subscribes again), in one statement that also checks the per-user limit. The endpoint moves
 * to this user: any other account that had it loses it, in the same transaction, so a browser shared
 * by two accounts shows only the reminders of the one that subscribed it last.
 */
export async function saveSubscription(
  db: Db,
  userId: string,
  { endpoint, keys }: Subscription,
  now: string,
  max: number,
): Promise<SaveResult> {
  const id = crypto.randomUUID()
  // Whether this user may hold the endpoint: under the limit, or holding it already. Only the
  // user's own rows decide it, so the answer says nothing about any other account.
  const allowed = `((SELECT count(*) FROM push_subscriptions WHERE user_id = ?1) < ?3
                    OR EXISTS (SELECT 1 FROM push_subscriptions WHERE user_id = ?1 AND endpoint = ?2))`
  const [, saved] = await d1(() =>
    db.batch([
      // The one statement that writes another user's rows, on purpose: an endpoint is a browser, and
      // a browser belongs to the account signed in on it. The caller proves they hold this browser by
      // sending its endpoint, a capability URL only the browser and its push service know; so the
      // statement is keyed by that exact endpoint and nothing else, can remove at most the other
      // accounts' subscription of this one browser (their retries for it go with it, by trigger), reads
      // nothing back, and runs only when the insert below will.
      db
        .prepare(`DELETE FROM push_subscriptions WHERE endpoint = ?2 AND user_id <> ?1 AND ${allowed}`)
        .bind(userId, endpoint, max),
      db
        .prepare(
          `INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
           SELECT ?4, ?1, ?2, ?5, ?6, ?7
           WHERE ${allowed}
           ON CONFLICT (user_id, endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth
           RETURNING id, endpoint, created_at`,
        )
        .bind(userId, endpoint, max, id, keys.p256dh, keys.auth, now),
    ]),
  )
  const row = saved?.results[0] as SubscriptionRow | undefined
  if (!row) return { outcome: 'over-limit' }
  return { outcome: row.id === id ? 'created' : 'updated', subscription: toSubscription(row) }
}

export async function listSubscriptions(db: Db, userId: string): Promise<StoredSubscription[]> {
  const { results } = await d1(() =>
    db
      .prepare('SELECT id, endpoint, created_at FROM push_subscriptions WHERE user_id = ?1 ORDER BY created_at, id')
      .bind(userId)
      .all<SubscriptionRow>(),
  )
  return results.map(toSubscription)
}

/** Deletes the user's subscription with this endpoint; false when the user has none. */
export async function deleteSubscription(db: Db, userId: string, endpoint: string): Promise<boolean> {
  const row = await d1(() =>
    db
      .prepare('DELETE FROM push_subscriptions WHERE user_id = ?1 AND endpoint = ?2 RETURNING id')
      .bind(userId, endpoint)
      .first(),
  )
  return row !== null
}
