/**
 * The request's D1 session. Reads may be served by a read replica; a client that sends back the
 * `x-d1-bookmark` of its last response gets a session at least as new as that bookmark, so it
 * always sees its own writes.
 */
import { createMiddleware } from 'hono/factory'
import * as z from 'zod'
import { DatabaseError } from './db'
import type { AppEnv } from './env'
import { BOOKMARK_HEADER } from './headers'
import { timedDb } from './observability'
import { annotate } from './openapi/annotate'
import { invalidRequest } from './problem'

// D1's bookmarks are hex fields joined by hyphens: 00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683
// in production (see D1 Time Travel), 00000000-00000002-00000000-00000000000000 from local D1. The
// shape is checked, not the widths, and the length is capped.
const BOOKMARK = /^(?=.{1,128}$)[0-9a-f]+(?:-[0-9a-f]+){1,7}$/

const badBookmark = () =>
  invalidRequest(`The ${BOOKMARK_HEADER} header must be a bookmark from an earlier response.`, [
    { parameter: BOOKMARK_HEADER, detail: 'is not a D1 bookmark' },
  ])

/**
 * Opens the request's D1 session as `c.var.db`: at the client's bookmark, or anywhere (a replica
 * may answer) without one. Every response after it, errors included, carries the session's newest
 * bookmark once a statement has run.
 */
const session = createMiddleware<AppEnv>(async (c, next) => {
  const bookmark = c.req.header(BOOKMARK_HEADER)
  if (bookmark !== undefined && !BOOKMARK.test(bookmark)) throw badBookmark()
  let session: D1DatabaseSession
  try {
    session = c.env.DB.withSession(bookmark ?? 'first-unconstrained')
  } catch (error) {
    // Shaped like a bookmark, but not one D1 can start a session at.
    if (bookmark !== undefined) throw badBookmark()
    throw new DatabaseError(error)
  }
  c.set('db', timedDb(session, c.get('timing')))
  await next()
  const latest = session.getBookmark()
  // Set on the finished response's own headers: c.header() now would copy the whole Response.
  if (latest) c.res.headers.set(BOOKMARK_HEADER, latest)
})

export const d1Session = annotate(session, {
  input: {
    target: 'header',
    schema: z.object({
      [BOOKMARK_HEADER]: z.string().regex(BOOKMARK).optional().meta({
        description: 'The `x-d1-bookmark` of your last response: this request then reads data at least that new.',
      }),
    }),
  },
  // Every statement runs in the session, so any of them can find D1 unavailable.
  problems: ['invalid-request', 'service-unavailable'],
  headers: [BOOKMARK_HEADER],
})
