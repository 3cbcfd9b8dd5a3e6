/**
 * /notifications: the caller's inbox on the main API. Every route is the caller's own: another
 * user's notification is never shown, marked or deleted, and bad input is a 4xx that changes nothing.
 */
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  MAX_IDS_PER_REQUEST,
  MAX_NOTIFICATIONS_PER_USER,
  type Notification,
  notification,
} from '../../src/notifications/model'
import { REMINDERS_PER_USER } from '../../src/reminders/job'
import {
  API_RESOURCE,
  apiAccessToken,
  countingDb,
  expectProblem,
  invalidNames,
  queryPlan,
  request,
  type SignedIn,
  signIn,
  tableScans,
} from '../helpers'
import { clock, dueTasks, inboxAt, runJob, storedNotifications } from './seed'

const times = clock('2041-01-01T00:00:00.000Z')

beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {})
})
afterEach(() => vi.restoreAllMocks())

/** A signed-in user with `count` notifications from the job: ids 1..count, all unread. */
const withInbox = (count: number) => inboxAt(times, count)

const list = async (user: SignedIn, query = '') => {
  const res = await user.request(`/notifications${query}`)
  expect(res.status).toBe(200)
  return (await res.json<{ items: Notification[] }>()).items
}

const unreadCount = async (user: SignedIn) =>
  (await (await user.request('/notifications/unread-count')).json<{ unreadCount: number }>()).unreadCount

const markRead = (user: SignedIn, body: unknown) => user.request('/notifications/read', { method: 'POST', body })

describe('GET /notifications', () => {
  it('lists the reminders the job recorded, newest first, in the documented shape', async () => {
    const user = await withInbox(3)
    const tasks = await env.DB.prepare('SELECT id, number, title FROM tasks WHERE user_id = ?1 ORDER BY number')
      .bind(user.id)
      .all<{ id: string; number: number; title: string }>()
    const items = await list(user)
    expect(items.map((n) => n.id)).toEqual([3, 2, 1])
    expect(items[2]).toEqual({
      id: 1,
      type: 'reminder',
      taskId: tasks.results[0]!.id,
      taskNumber: tasks.results[0]!.number,
      title: 'Reminder 1',
      message: 'About 1',
      isRead: false,
      sentAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    })
    for (const item of items) expect(notification.safeParse(item).success).toBe(true)
  })

  it('lists only the unread ones with unreadOnly=true, and all of them with unreadOnly=false', async () => {
    const user = await withInbox(3)
    expect((await markRead(user, { ids: [2] })).status).toBe(200)
    expect((await list(user, '?unreadOnly=true')).map((n) => n.id)).toEqual([3, 1])
    expect((await list(user, '?unreadOnly=false')).map((n) => [n.id, n.isRead])).toEqual([
      [3, false],
      [2, true],
      [1, false],
    ])
  })

  it('refuses an unknown or invalid query parameter with 400', async () => {
    const user = await withInbox(1)
    for (const query of ['?unreadOnly=yes', '?unread_only=true', '?unreadOnly=true&unreadOnly=false', '?limit=1']) {
      const problem = await expectProblem(await user.request(`/notifications${query}`), 400)
      expect(invalidNames(problem).length, query).toBe(1)
    }
  })

  it('answers an empty inbox with an empty list and a zero count', async () => {
    const user = await signIn()
    expect(await list(user)).toEqual([])
    expect(await unreadCount(user)).toBe(0)
  })
})

describe('GET /notifications/unread-count', () => {
  it('counts the unread ones', async () => {
    const user = await withInbox(4)
    expect(await unreadCount(user)).toBe(4)
    await markRead(user, { ids: [1, 4] })
    expect(await unreadCount(user)).toBe(2)
    const res = await user.request('/notifications/unread-count')
    expect(await res.json()).toEqual({ unreadCount: 2 })
  })
})

describe('POST /notifications/read and /notifications/read-all', () => {
  it('marks the listed ones read and says how many it marked; unknown and already-read ids are ignored', async () => {
    const user = await withInbox(3)
    const res = await markRead(user, { ids: [1, 3, 3, 99, 12345678901] })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ marked: 2 })
    expect(await (await markRead(user, { ids: [1, 2] })).json()).toEqual({ marked: 1 })
    expect(await (await markRead(user, { ids: [] })).json()).toEqual({ marked: 0 })
    expect((await storedNotifications(user.id)).map((n) => n.is_read)).toEqual([1, 1, 1])
  })

  it('marks all unread ones read, and then none', async () => {
    const user = await withInbox(3)
    await markRead(user, { ids: [2] })
    const all = await user.request('/notifications/read-all', { method: 'POST' })
    expect(all.status).toBe(200)
    expect(await all.json()).toEqual({ marked: 2 })
    expect(await (await user.request('/notifications/read-all', { method: 'POST' })).json()).toEqual({ marked: 0 })
    expect(await unreadCount(user)).toBe(0)
  })

  it.each([
    [{}, ['#/ids']],
    [{ ids: 'all' }, ['#/ids']],
    [{ ids: [0] }, ['#/ids/0']],
    [{ ids: [-1, 2] }, ['#/ids/0']],
    [{ ids: [1.5] }, ['#/ids/0']],
    [{ ids: ['1'] }, ['#/ids/0']],
    [{ ids: [2 ** 53] }, ['#/ids/0']],
    [{ ids: Array.from({ length: MAX_IDS_PER_REQUEST + 1 }, (_, i) => i + 1) }, ['#/ids']],
    [{ ids: [1], userId: 'someone-else' }, ['#/userId']],
    [[1], ['#']],
  ])('refuses %j with 400 naming %j, and marks nothing', async (body, names) => {
    const user = await withInbox(2)
    const problem = await expectProblem(await markRead(user, body), 400)
    expect(invalidNames(problem)).toEqual(names)
    expect(await unreadCount(user)).toBe(2)
  })

  it('refuses a body that is not JSON (415), malformed (400) or too large (413), and marks nothing', async () => {
    const user = await withInbox(1)
    const send = (body: string, contentType = 'application/json') =>
      user.request('/notifications/read', { method: 'POST', body, headers: { 'Content-Type': contentType } })
    await expectProblem(await send('{"ids":[1]}', 'text/plain'), 415)
    await expectProblem(await send('{"ids":[1'), 400)
    await expectProblem(await send(JSON.stringify({ ids: [1], pad: 'x'.repeat(17 * 1024) })), 413)
    expect(await unreadCount(user)).toBe(1)
  })
})

describe('DELETE /notifications/{id}', () => {
  it('deletes the notification (204), then answers 404; a later one gets a new id, never a reused one', async () => {
    const user = await withInbox(2)
    const res = await user.request('/notifications/2', { method: 'DELETE' })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    await expectProblem(await user.request('/notifications/2', { method: 'DELETE' }), 404)
    expect((await list(user)).map((n) => n.id)).toEqual([1])

    const at = times.next()
    await dueTasks(user.id, 1, at)
    await runJob(at)
    expect((await list(user)).map((n) => n.id)).toEqual([3, 1])
  })

  it.each(['0', '-1', 'abc', '1.0', '99999999999999999999', '00000000-0000-4000-8000-000000000001'])(
    'answers 404 for the id %s, never a 500',
    async (id) => {
      const user = await withInbox(1)
      await expectProblem(await user.request(`/notifications/${id}`, { method: 'DELETE' }), 404)
      expect(await storedNotifications(user.id)).toHaveLength(1)
    },
  )
})

describe("another user's inbox", () => {
  it('is never shown, counted, marked or deleted', async () => {
    const owner = await withInbox(3)
    const stranger = await signIn()
    expect(await list(stranger)).toEqual([])
    expect(await unreadCount(stranger)).toBe(0)
    expect(await (await markRead(stranger, { ids: [1, 2, 3] })).json()).toEqual({ marked: 0 })
    expect(await (await stranger.request('/notifications/read-all', { method: 'POST' })).json()).toEqual({
      marked: 0,
    })
    await expectProblem(await stranger.request('/notifications/1', { method: 'DELETE' }), 404)
    expect((await storedNotifications(owner.id)).map((n) => [n.number, n.is_read])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
    ])
  })

  it("changes only the caller's own notification with the same id", async () => {
    const [a, b] = [await withInbox(2), await withInbox(2)]
    expect(await (await markRead(b, { ids: [1] })).json()).toEqual({ marked: 1 })
    expect((await b.request('/notifications/2', { method: 'DELETE' })).status).toBe(204)
    expect((await storedNotifications(a.id)).map((n) => [n.number, n.is_read])).toEqual([
      [1, 0],
      [2, 0],
    ])
    expect((await storedNotifications(b.id)).map((n) => [n.number, n.is_read])).toEqual([[1, 1]])
  })
})

describe('authentication and scopes', () => {
  const routes: [string, string, unknown?][] = [
    ['GET', '/notifications'],
    ['GET', '/notifications/unread-count'],
    ['POST', '/notifications/read', { ids: [1] }],
    ['POST', '/notifications/read-all'],
    ['DELETE', '/notifications/1'],
  ]

  it.each(routes)('%s %s requires a token', async (method, path, body) => {
    await expectProblem(await request(path, { method, body }), 401)
  })

  it('lets an access token read with tasks:read and change with tasks:write, and nothing more', async () => {
    const user = await withInbox(2)
    const api = API_RESOURCE
    const token = (scope: string) => apiAccessToken(user.id, scope)
    const [reader, writer] = [await token('tasks:read'), await token('tasks:write')]
    for (const [method, path, body] of routes) {
      const asReader = await request(path, { method, body, token: reader, env: api })
      const asWriter = await request(path, { method, body, token: writer, env: api })
      if (method === 'GET') {
        expect(asReader.status, `${method} ${path}`).toBe(200)
        expect(asWriter.status, `${method} ${path}`).toBe(403)
        expect(asWriter.headers.get('WWW-Authenticate')).toContain('scope="tasks:read"')
      } else {
        expect(asReader.status, `${method} ${path}`).toBe(403)
        expect(asReader.headers.get('WWW-Authenticate')).toContain('scope="tasks:write"')
        expect(asWriter.status, `${method} ${path}`).toBeLessThan(300)
      }
    }
    // The reader changed nothing; the writer marked both read, then deleted #1.
    expect((await storedNotifications(user.id)).map((n) => [n.number, n.is_read])).toEqual([[2, 1]])
  })

  it.each([
    ['PUT', '/notifications', 'GET, HEAD'],
    ['POST', '/notifications/unread-count', 'GET, HEAD'],
    ['GET', '/notifications/read', 'POST'],
    ['DELETE', '/notifications/read-all', 'POST'],
    ['GET', '/notifications/1', 'DELETE'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const user = await signIn()
    const res = await user.request(path, { method })
    await expectProblem(res, 405)
    expect(res.headers.get('Allow')).toBe(allow)
  })
})

describe('query cost', () => {
  it('answers every route with index seeks in one round trip, reading at most the inbox it shows', async () => {
    const user = await signIn()
    // A full inbox, beside other users' (the job's own runs).
    for (let i = 0; i < MAX_NOTIFICATIONS_PER_USER / REMINDERS_PER_USER; i++) {
      const at = times.next()
      await dueTasks(user.id, REMINDERS_PER_USER, at)
      await runJob(at)
    }
    await withInbox(5)
    const cases: [string, string, unknown?][] = [
      ['GET', '/notifications'],
      ['GET', '/notifications?unreadOnly=true'],
      ['GET', '/notifications/unread-count'],
      ['POST', '/notifications/read', { ids: [1, 2, 3] }],
      ['POST', '/notifications/read-all'],
      ['DELETE', '/notifications/4'],
      ['GET', `/api/${user.id}/notifications`],
      ['PATCH', '/api/notifications/mark-read', { notification_ids: [5] }],
    ]
    for (const [method, path, body] of cases) {
      const { db, counter } = countingDb(env.DB)
      const res = await request(path, { method, body, token: user.token, env: { DB: db } })
      expect(res.status, `${method} ${path}`).toBeLessThan(300)
      expect(counter.roundTrips, `${method} ${path}`).toBe(1)
      expect(counter.rowsRead, `${method} ${path}`).toBeLessThanOrEqual(MAX_NOTIFICATIONS_PER_USER + 2)
      const statements = [...counter.statements.map((sql, i) => ({ sql, bindings: counter.bindings[i]! }))]
      for (const { sql, bindings } of statements) {
        expect(tableScans(await queryPlan(sql, ...bindings)), `${method} ${path}: ${sql}`).toEqual([])
      }
    }
  })
})
