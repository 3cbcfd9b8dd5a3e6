/**
 * /notifications: the caller's in-app inbox, where the reminder job records each reminder that
 * falls due. Read with `tasks:read`, changed with `tasks:write` (an OAuth access token's scopes, by
 * method, as on /tasks). A notification is only ever seen, marked or deleted by its owner.
 */
import { Hono, type MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import * as z from 'zod'
import type { AppEnv } from '../env'
import { annotate } from '../openapi/annotate'
import { methodNotAllowed, notFound, payloadTooLarge } from '../problem'
import { rateLimit } from '../ratelimit'
import { empty, json } from '../respond'
import { d1Session } from '../session'
import { noQuery } from '../tasks/requests'
import { jsonBody, queryParams } from '../validation'
import { listQuery, MAX_NOTIFICATIONS_PER_USER, markReadBody, toNotification } from './model'
import { inbox } from './service'

const MAX_BODY_BYTES = 16 * 1024

/** The body limit of the inbox routes that take one, here and on /api. */
export const limitNotificationBody = annotate(
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw payloadTooLarge(MAX_BODY_BYTES)
    },
  }),
  { bodyProblems: ['payload-too-large'] },
)

export const NO_SUCH_NOTIFICATION = 'No notification has this id.'

// Numbers as the schema stores them: positive integers within JavaScript's exact range.
const NUMBER = /^[1-9]\d{0,15}$/

type NumberParam = { param: { number: number } }

/** `{id}` in the path: a notification's number. Anything else names no notification: 404, as another user's does. */
export const notificationNumber = annotate(
  createMiddleware<AppEnv>(async (c, next) => {
    const id = c.req.param('id') ?? ''
    if (!NUMBER.test(id) || !Number.isSafeInteger(Number(id))) throw notFound(NO_SUCH_NOTIFICATION)
    c.req.addValidatedData('param', { number: Number(id) })
    await next()
  }) as unknown as MiddlewareHandler<AppEnv, string, { out: NumberParam }>,
  {
    input: {
      target: 'param',
      schema: z.object({ id: z.int().min(1).meta({ description: 'The notification id.' }) }),
    },
    problems: ['not-found'],
  },
)

export const notificationRoutes = new Hono<AppEnv>()
  // Authentication and rate limits first: nothing below runs, and no body is read, for a refused request.
  .use(rateLimit)
  .use(d1Session)
  .use(limitNotificationBody)

  .get('/', queryParams(listQuery), async (c) => {
    const { unreadOnly = false } = c.req.valid('query')
    const rows = await inbox(c).list({
      unreadOnly,
      max: MAX_NOTIFICATIONS_PER_USER,
    })
    return json(c, { items: rows.map(toNotification) }, 200)
  })

  .get('/unread-count', queryParams(noQuery), async (c) => {
    return json(c, { unreadCount: await inbox(c).unreadCount() }, 200)
  })

  .post('/read', queryParams(noQuery), jsonBody(markReadBody), async (c) => {
    const { ids } = c.req.valid('json')
    return json(c, { marked: await inbox(c).markRead(ids) }, 200)
  })

  .post('/read-all', queryParams(noQuery), async (c) => {
    return json(c, { marked: await inbox(c).markAllRead() }, 200)
  })

  .all('/', () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })
  .all('/unread-count', () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })
  .all('/read', () => {
    throw methodNotAllowed(['POST'])
  })
  .all('/read-all', () => {
    throw methodNotAllowed(['POST'])
  })

  // After the fixed paths, so that `DELETE /notifications/read` is a 405, not a notification named "read".
  .delete('/:id', notificationNumber, queryParams(noQuery), async (c) => {
    const { number } = c.req.valid('param')
    if (!(await inbox(c).delete(number))) throw notFound(NO_SUCH_NOTIFICATION)
    return empty(c, 204)
  })
  .all('/:id', () => {
    throw methodNotAllowed(['DELETE'])
  })
