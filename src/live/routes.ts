/**
 * /tasks/live: a WebSocket on which the server says when the user's tasks change (docs/live.md), and
 * the tickets a browser opens it with. Everything is checked before the upgrade: the page's origin,
 * the ticket or token and the rate limits, the query, the upgrade itself, the user's socket limit.
 * A ticket is used up only by the socket it opens.
 */
import { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import * as z from 'zod'
import {
  expiresTooSoon,
  requireCaller,
  requireIssued,
  requireMethodScope,
  requireScopes,
  SCOPES,
  unknownCredential,
} from '../auth'
import { getConfig } from '../config'
import type { AppEnv } from '../env'
import { limits } from '../limits'
import { annotate } from '../openapi/annotate'
import { forbidden, liveConnectionLimit, methodNotAllowed, serviceUnavailable, upgradeRequired } from '../problem'
import { rateLimit, rateLimitWith } from '../ratelimit'
import { json, switchingProtocols } from '../respond'
import { noQuery } from '../tasks/requests'
import { queryParams } from '../validation'
import { connect } from './object'
import { findTicket, issueTicket, ticketHash } from './tickets'

/** GET /tasks/live's query: a ticket, or nothing for a client that sends `Authorization` instead. */
export const liveQuery = z.strictObject({
  ticket: z
    .string()
    .max(1024)
    .optional()
    .meta({ description: 'A ticket from POST /tasks/live/ticket: single-use, valid for `expiresIn` seconds.' }),
})

/** What the rate limiter counts and refuses is the same as for every protected route (src/ratelimit.ts). */
const AUTH_PROBLEMS = ['unauthorized', 'rate-limited', 'server-misconfigured', 'service-unavailable'] as const

/** A session JWT, or an access token with tasks:read: a ticket only lets its holder read. */
const ticketCaller = annotate(rateLimitWith(requireCaller, requireScopes(SCOPES.read)), {
  authenticates: true,
  problems: [...AUTH_PROBLEMS, 'forbidden'],
})

const byTicket = requireIssued((c) => findTicket(c.env, c.req.query('ticket') ?? ''))

/** The ticket in the query when there is one (browsers), else the bearer token (other clients). */
const liveCaller = annotate(
  rateLimitWith(
    createMiddleware<AppEnv>((c, next) => (c.req.query('ticket') === undefined ? requireCaller : byTicket)(c, next)),
    requireMethodScope,
  ),
  { authenticates: true, problems: [...AUTH_PROBLEMS, 'forbidden'] },
)

/**
 * A page may open the socket only from an origin CORS_ORIGINS lists: browsers send cookies and no
 * CORS check with a WebSocket, so another site's page could otherwise listen with a ticket it got
 * hold of (cross-site WebSocket hijacking). Clients that are not browsers send no Origin.
 */
const allowedOrigin = annotate(
  createMiddleware<AppEnv>(async (c, next) => {
    const origin = c.req.header('Origin')
    const allowed = getConfig(c.env).corsOrigins
    if (origin !== undefined && allowed !== '*' && !allowed.has(origin)) {
      throw forbidden('Live connections are accepted only from the origins CORS_ORIGINS lists.')
    }
    await next()
  }),
  { problems: ['forbidden'] },
)

const webSocketUpgrade = annotate(
  createMiddleware<AppEnv>(async (c, next) => {
    if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') throw upgradeRequired()
    await next()
  }),
  { problems: ['upgrade-required'] },
)

/** The ws: or wss: URL of GET /tasks/live on this worker, with the ticket. */
function liveUrl(requestUrl: string, ticket: string): string {
  const url = new URL('/tasks/live', requestUrl)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  url.search = new URLSearchParams({ ticket }).toString()
  return url.href
}

export const liveRoutes = new Hono<AppEnv>()
  .post('/ticket', ticketCaller, queryParams(noQuery), async (c) => {
    const issued = await issueTicket(c.env, c.get('user').id, c.get('tokenExpiry'))
    if (issued === undefined) throw expiresTooSoon()
    const { ticket, expiresIn } = issued
    return json(c, { ticket, url: liveUrl(c.req.url, ticket), expiresIn }, 201)
  })
  .all('/ticket', rateLimit, () => {
    throw methodNotAllowed(['POST'])
  })

  .get('/', allowedOrigin, liveCaller, queryParams(liveQuery), webSocketUpgrade, async (c) => {
    const { liveSocketsPerUser } = limits(c.env)
    // Authenticated by the ticket when there is one (liveCaller): the object uses it up as it accepts.
    const { ticket: query } = c.req.valid('query')
    const ticket = query === undefined ? undefined : await ticketHash(query)
    const socket = await connect(c.env, {
      userId: c.get('user').id,
      expiresAt: c.get('tokenExpiry') * 1000,
      limit: liveSocketsPerUser,
      ...(ticket !== undefined && { ticket }),
    })
    // Used by another request since it was found: only one socket opens with it.
    if (socket === 401) throw unknownCredential()
    if (socket === 429) throw liveConnectionLimit(liveSocketsPerUser)
    if (socket === 503) throw serviceUnavailable()
    return switchingProtocols(c, socket)
  })
  .all('/', rateLimit, () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })
