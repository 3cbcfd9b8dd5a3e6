/**
 * What stands in front of every protected route: authentication (src/auth.ts) and the abuse
 * limits on the Workers Rate Limiting binding.
 *
 * - Requests are limited per user, keyed by the verified token's `sub`.
 * - Refused (401) requests are limited per client IP, so guessing tokens from one address is
 *   throttled. Requests with a valid token never count against their IP, so users behind one NAT
 *   or proxy are never limited by each other.
 *
 * The binding's own limit (RATE_LIMIT_CEILING in wrangler.toml) is only a ceiling. Each request
 * costs ceiling / limit of it (`delta`), so the limits in force are plain variables
 * (RATE_LIMIT_PER_MINUTE, AUTH_FAILURES_PER_MINUTE): per environment, and raised for a local load
 * test with `--var`, without editing code or the binding.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { requireCaller, requireMethodScope } from './auth'
import { limits } from './config'
import type { AppEnv } from './env'
import { timeAuth } from './observability'
import { annotate } from './openapi/annotate'
import { Problem, tooManyRequests } from './problem'

/** `simple.limit` of the RATE_LIMITER binding in wrangler.toml; `simple.period` is 60. */
export const RATE_LIMIT_CEILING = 1_000_000
export const RATE_LIMIT_PERIOD_SECONDS = 60

const noop = async () => {}

/**
 * The limits around `authenticate` (src/auth.ts), then `authorize` on the caller it set: a request
 * refused for its scope has counted against its user like any other.
 */
export const guardWith = (authenticate: MiddlewareHandler<AppEnv>, authorize: (c: Context<AppEnv>) => void = noop) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const { userRequestsPerMinute, authFailuresPerMinute } = limits(c.env)
    try {
      await timeAuth(c.var.timing, () => authenticate(c, noop))
    } catch (error) {
      if (error instanceof Problem && error.status === 401) {
        if (!(await allowed(c, `ip:${clientNetwork(c.req.header('CF-Connecting-IP'))}`, authFailuresPerMinute))) {
          throw tooManyRequests(RATE_LIMIT_PERIOD_SECONDS)
        }
      }
      throw error
    }
    if (!(await allowed(c, `user:${c.var.user.id}`, userRequestsPerMinute))) {
      throw tooManyRequests(RATE_LIMIT_PERIOD_SECONDS)
    }
    authorize(c)
    await next()
  })

export const guard = annotate(guardWith(requireCaller, requireMethodScope), {
  authenticates: true,
  problems: ['unauthorized', 'rate-limited', 'server-misconfigured', 'service-unavailable'],
})

async function allowed(c: Context<AppEnv>, key: string, perMinute: number): Promise<boolean> {
  // The call is allowed while the counter is below the ceiling, so ceil() gives exactly
  // `perMinute` calls whenever perMinute² < the ceiling (every limit up to 999 per minute).
  const delta = Math.ceil(RATE_LIMIT_CEILING / perMinute)
  try {
    return (await c.env.RATE_LIMITER.limit({ key, delta })).success
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
