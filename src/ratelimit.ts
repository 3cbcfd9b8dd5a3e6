/**
 * What stands in front of every protected route: authentication (src/auth/), then the abuse
 * limits, each a Workers Rate Limiting binding whose `simple` limit and period in wrangler.toml are
 * the limit in force (per `[env.*]`, e.g. raised in `[env.loadtest]`; see docs/ratelimits.md).
 *
 * - USER_RATE_LIMITER counts requests per user, keyed by the verified token's `sub`.
 * - AUTH_FAILURE_RATE_LIMITER counts refused (401) requests per client IP, so guessing tokens from
 *   one address is throttled. Requests with a valid token never count against their IP, so users
 *   behind one NAT or proxy are never limited by each other.
 * - A genuine token refused only because it has expired or is not valid yet counts against its
 *   user instead, and is a 401 every time: its client must learn to refresh it, not back off
 *   because of what a neighbour behind the same address sent.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { requireCaller, requireMethodScope, requireSessionToken, verifiedSubOf } from './auth'
import type { AppEnv } from './env'
import { limits } from './limits'
import { timeAuth } from './observability'
import { annotate } from './openapi/annotate'
import { Problem, tooManyRequests } from './problem'

/** `simple.period` of every binding in wrangler.toml: how long a refused client waits. */
export const RATE_LIMIT_PERIOD_SECONDS = 60

const noop = async () => {}

/**
 * The limits around `authenticate` (src/auth/), then `authorize` on the caller it set: a request
 * refused for its scope has counted against its user like any other.
 */
export const rateLimitWith = (
  authenticate: MiddlewareHandler<AppEnv>,
  authorize: (c: Context<AppEnv>) => void = noop,
) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const { perUser, perRefusedIp } = limits(c.env)
    try {
      await timeAuth(c.get('timing'), () => authenticate(c, noop))
    } catch (error) {
      if (error instanceof Problem && error.status === 401) {
        const sub = verifiedSubOf(error)
        if (sub !== undefined) await allowed(perUser, `user:${sub}`)
        else if (!(await allowed(perRefusedIp, `ip:${clientNetwork(c.req.header('CF-Connecting-IP'))}`))) {
          throw tooManyRequests(RATE_LIMIT_PERIOD_SECONDS)
        }
      }
      throw error
    }
    if (!(await allowed(perUser, `user:${c.get('user').id}`))) throw tooManyRequests(RATE_LIMIT_PERIOD_SECONDS)
    authorize(c)
    await next()
  })

/** Authenticates the caller (src/auth/) and applies the rate limits; mount it on every protected route. */
export const rateLimit = annotate(rateLimitWith(requireCaller, requireMethodScope), {
  authenticates: true,
  problems: ['unauthorized', 'rate-limited', 'server-misconfigured', 'service-unavailable'],
})

/** `rateLimit` for what only the user's own session token may do (src/auth/scopes.ts): 403 for an app's token. */
export const rateLimitSessionOnly = annotate(rateLimitWith(requireCaller, requireSessionToken), {
  authenticates: true,
  problems: ['unauthorized', 'forbidden', 'rate-limited', 'server-misconfigured', 'service-unavailable'],
})

/** Whether `limiter` lets `key` through; a limiter that fails lets everyone through. */
export async function allowed(limiter: RateLimit, key: string): Promise<boolean> {
  try {
    return (await limiter.limit({ key })).success
  } catch (error) {
    // The limiter is a safety net, not a dependency: if it fails, serve rather than refuse everyone.
    console.warn(
      JSON.stringify({ level: 'warn', message: 'rate limiter failed; not limiting', key, error: String(error) }),
    )
    return true
  }
}

/**
 * The key for a client address: an IPv4 address as it is, an IPv6 address by its /64, since one
 * client is routinely given a whole /64 and could otherwise rotate through it.
 */
export function clientNetwork(ip: string | undefined): string {
  const address = ip?.trim().toLowerCase() ?? ''
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address)
  if (v4) return v4[1]!
  // Cloudflare sets CF-Connecting-IP itself; anything else (local dev) shares one key.
  if (!/^[0-9a-f:]{2,39}$/.test(address) || address.split('::').length > 2) return 'unknown'
  const [head = '', tail] = address.split('::')
  const front = head ? head.split(':') : []
  const back = tail ? tail.split(':') : []
  const groups =
    tail === undefined ? front : [...front, ...Array(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back]
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}
