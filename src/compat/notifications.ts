/**
 * /api/{user_id}/notifications and /api/notifications: the in-app inbox (src/notifications/) in the
 * contract the FastAPI backend's family of frontends calls: snake_case, a plain array, PATCH to mark
 * read. Authentication, rate limits, scopes, the D1 session and the `{user_id}` check are those of
 * every /api route; ids are the per-user notification numbers.
 */
import { Hono, type MiddlewareHandler } from 'hono'
import * as z from 'zod'
import type { AppEnv } from '../env'
import { MAX_NOTIFICATIONS_PER_USER, notificationIds, toApiNotification } from '../notifications/model'
import { limitNotificationBody, NO_SUCH_NOTIFICATION, notificationNumber } from '../notifications/routes'
import { inbox } from '../notifications/service'
import { methodNotAllowed, notFound } from '../problem'
import { rateLimit } from '../ratelimit'
import { json } from '../respond'
import { d1Session } from '../session'
import { anyPath, apiBody, apiQuery, ownerQuery, pathUser } from './validate'

// What FastAPI (pydantic) reads as a boolean query parameter, in any case.
const TRUE = ['true', '1', 'yes', 'on', 't', 'y']
const FALSE = ['false', '0', 'no', 'off', 'f', 'n']

export const inboxParams = z.object({
  unread_only: z
    .string({ error: (issue) => (Array.isArray(issue.input) ? 'must be given only once' : undefined) })
    .transform((value) => value.toLowerCase())
    .refine((value) => TRUE.includes(value) || FALSE.includes(value), 'must be true or false')
    .transform((value) => TRUE.includes(value))
    .optional()
    .describe('true: only the unread ones; false (the default): all.'),
})

export const markReadRequest = z.object({ notification_ids: notificationIds })

/** Marking all read takes no body; an empty object, or none, is what the frontends send. */
const noBody = z.object({})

/** The inbox routes under one prefix; `owner` checks the prefix's `{user_id}`, if it has one. */
function inboxApi(owner: MiddlewareHandler<AppEnv>) {
  return (
    new Hono<AppEnv>()
      // Authentication and rate limits first, then the path's user: a request for another user's
      // inbox is refused before a body is read or a D1 statement runs.
      .get('/', rateLimit, owner, d1Session, apiQuery(inboxParams), async (c) => {
        const { unread_only = false } = c.req.valid('query')
        const user = c.get('user')
        const rows = await inbox(c).list({
          unreadOnly: unread_only,
          max: MAX_NOTIFICATIONS_PER_USER,
        })
        return json(
          c,
          rows.map((row) => toApiNotification(row, user.id)),
          200,
        )
      })

      .get('/unread-count', rateLimit, owner, d1Session, ownerQuery, async (c) => {
        return json(c, { unread_count: await inbox(c).unreadCount() }, 200)
      })

      .patch(
        '/mark-read',
        rateLimit,
        owner,
        limitNotificationBody,
        d1Session,
        ownerQuery,
        apiBody(markReadRequest),
        async (c) => {
          const { notification_ids } = c.req.valid('json')
          return json(c, { marked: await inbox(c).markRead(notification_ids) }, 200)
        },
      )

      .patch(
        '/mark-all-read',
        rateLimit,
        owner,
        limitNotificationBody,
        d1Session,
        ownerQuery,
        apiBody(noBody, { optional: true }),
        async (c) => {
          return json(c, { marked: await inbox(c).markAllRead() }, 200)
        },
      )

      .all('/', rateLimit, () => {
        throw methodNotAllowed(['GET', 'HEAD'])
      })
      .all('/unread-count', rateLimit, () => {
        throw methodNotAllowed(['GET', 'HEAD'])
      })
      .all('/mark-read', rateLimit, () => {
        throw methodNotAllowed(['PATCH'])
      })
      .all('/mark-all-read', rateLimit, () => {
        throw methodNotAllowed(['PATCH'])
      })

      // After the fixed paths, so that `DELETE .../notifications/mark-read` is a 405, not a 404.
      .delete('/:id', rateLimit, owner, d1Session, notificationNumber, ownerQuery, async (c) => {
        const { number } = c.req.valid('param')
        if (!(await inbox(c).delete(number))) {
          throw notFound(NO_SUCH_NOTIFICATION)
        }
        // A body, not a 204, as for a task: some frontends call res.json() on every response.
        return json(c, { message: 'Notification deleted' as const }, 200)
      })
      .all('/:id', rateLimit, () => {
        throw methodNotAllowed(['DELETE'])
      })
  )
}

export const compatNotificationRoutes = new Hono<AppEnv>()
  .route('/notifications', inboxApi(anyPath))
  .route('/:user_id/notifications', inboxApi(pathUser))
