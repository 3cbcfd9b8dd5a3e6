/**
 * Reading the event log, for every door: the REST routes (routes.ts) and the /api routes
 * (src/compat/events.ts). Scoped by the verified user, as the task service is.
 */
import type { Context } from 'hono'
import type { AppEnv } from '../env'
import { type Door, type TaskRef, taskService } from '../tasks/service'
import { type EventRow, type TaskEvent, toEvent } from './model'
import { listEvents } from './repo'

export interface EventPage {
  items: TaskEvent[]
  next: number
  hasMore: boolean
}

export type TaskHistory = { kind: 'ok'; page: EventPage } | { kind: 'not-found' } | { kind: 'forbidden' }

/** A page from `limit` + 1 rows: the one more says whether there are more. */
const pageOf = (rows: EventRow[], after: number, limit: number): EventPage => {
  const items = rows.slice(0, limit).map(toEvent)
  return { items, next: items.at(-1)?.seq ?? after, hasMore: rows.length > limit }
}

/** The event log of the request's verified user. */
export function eventLog(c: Context<AppEnv>, door: Door) {
  const db = c.get('db')
  const userId = c.get('user').id
  return {
    /** The user's events after `after`, oldest first. */
    async page(after: number, limit: number): Promise<EventPage> {
      return pageOf(await listEvents(db, userId, after, limit + 1), after, limit)
    },

    /**
     * One task's events after `after`, also once it is deleted. No event: the task's own, whose events
     * were purged, gives an empty page; another user's is a 403 and none a 404, as GET /tasks/{id} says.
     */
    async ofTask(ref: TaskRef, after: number, limit: number): Promise<TaskHistory> {
      const found = await listEvents(db, userId, after, limit + 1, typeof ref === 'string' ? { id: ref } : ref)
      if (found.length === 0) {
        const read = await taskService(c, door).get(ref)
        if (read.kind !== 'ok') return read
      }
      return { kind: 'ok', page: pageOf(found, after, limit) }
    },
  }
}
