/**
 * GET /push/public-key (public) and /me/push-subscriptions: a browser subscribes to reminders with
 * its PushSubscription, lists and removes its user's subscriptions. Every subscription route
 * requires a user; a subscription is only ever seen or removed by its owner.
 */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { pushConfig } from '../config'
import type { AppEnv } from '../env'
import {
  invalidRequest,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  pushDisabled,
  pushEndpointRefused,
  pushSubscriptionLimit,
} from '../problem'
import { rateLimit } from '../ratelimit'
import { empty, json } from '../respond'
import { d1Session } from '../session'
import { noQuery } from '../tasks/requests'
import { jsonBody, queryParams } from '../validation'
import { isAllowedEndpoint } from './endpoint'
import * as repo from './repo'
import { MAX_SUBSCRIPTIONS_PER_USER, subscriptionInput, subscriptionQuery } from './schema'

const MAX_BODY_BYTES = 4 * 1024

async function isP256Point(p256dh: string): Promise<boolean> {
  const bytes = Uint8Array.from(atob(p256dh.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
  try {
    await crypto.subtle.importKey('raw', bytes, { name: 'ECDH', namedCurve: 'P-256' }, false, [])
    return true
  } catch {
    return false
  }
}

export const publicKeyRoutes = new Hono<AppEnv>()
  .get('/public-key', queryParams(noQuery), (c) => {
    const { setting } = pushConfig(c.env)
    if ('off' in setting) throw pushDisabled()
    // The application server key for pushManager.subscribe({ applicationServerKey }).
    return json(c, { publicKey: setting.vapid.publicKey ?? '' }, 200)
  })
  .all('/public-key', () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })

export const subscriptionRoutes = new Hono<AppEnv>()
  .use(rateLimit)
  .use(d1Session)
  .use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw payloadTooLarge(MAX_BODY_BYTES)
      },
    }),
  )

  .get('/', queryParams(noQuery), async (c) => {
    return json(c, { items: await repo.listSubscriptions(c.get('db'), c.get('user').id) }, 200)
  })

  .post('/', queryParams(noQuery), jsonBody(subscriptionInput), async (c) => {
    const { setting, hosts } = pushConfig(c.env)
    if ('off' in setting) throw pushDisabled()
    const input = c.req.valid('json')
    // The worker will post to this URL: only a push service it knows, never one the client picked.
    if (!isAllowedEndpoint(input.endpoint, hosts)) throw pushEndpointRefused()
    if (!(await isP256Point(input.keys.p256dh))) {
      throw invalidRequest('Invalid body field(s): keys/p256dh.', [
        { pointer: '#/keys/p256dh', detail: 'must be a point on the P-256 curve' },
      ])
    }
    const result = await repo.saveSubscription(
      c.get('db'),
      c.get('user').id,
      input,
      new Date().toISOString(),
      MAX_SUBSCRIPTIONS_PER_USER,
    )
    if (result.outcome === 'over-limit') throw pushSubscriptionLimit(MAX_SUBSCRIPTIONS_PER_USER)
    return json(c, result.subscription, result.outcome === 'created' ? 201 : 200)
  })

  .delete('/', queryParams(subscriptionQuery), async (c) => {
    const { endpoint } = c.req.valid('query')
    if (!(await repo.deleteSubscription(c.get('db'), c.get('user').id, endpoint))) {
      throw notFound('You have no push subscription with this endpoint.')
    }
    return empty(c, 204)
  })

  .all('/', () => {
    throw methodNotAllowed(['GET', 'HEAD', 'POST', 'DELETE'])
  })
