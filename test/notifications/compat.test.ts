/**
 * The inbox on /api, as the FastAPI backend's family of frontends calls it: with and without the
 * user in the path, snake_case, PATCH to mark read, 422 for bad input, 403 for another user's path.
 */
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type ApiNotification, apiNotification } from '../../src/notifications/model'
import { countingDb, expectProblem, invalidNames, request, type SignedIn, signIn } from '../helpers'
import { clock, inboxAt, storedNotifications } from './seed'

const times = clock('2042-01-01T00:00:00.000Z')

beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {})
})
afterEach(() => vi.restoreAllMocks())

const withInbox = (count: number) => inboxAt(times, count)

/** Both spellings of every route: `/api/{user_id}/notifications…` and `/api/notifications…`. */
const prefixes = (user: SignedIn) => [`/api/${user.id}/notifications`, '/api/notifications']

const read = (user: SignedIn) => storedNotifications(user.id).then((rows) => rows.map((r) => [r.number, r.is_read]))

describe('/api notifications', () => {
  it('lists the inbox newest first, snake_case, with the task number as task_id, under both prefixes', async () => {
    const user = await withInbox(2)
    const tasks = await env.DB.prepare('SELECT number FROM tasks WHERE user_id = ?1 ORDER BY number')
      .bind(user.id)
      .all<{ number: number }>()
    for (const prefix of prefixes(user)) {
      for (const path of [prefix, `${prefix}/`, `${prefix}?unread_only=false`]) {
        const res = await user.request(path)
        expect(res.status, path).toBe(200)
        const body = await res.json<ApiNotification[]>()
        expect(body.map((n) => n.id)).toEqual([2, 1])
        expect(body[1]).toEqual({
          id: 1,
          user_id: user.id,
          task_id: tasks.results[0]!.number,
          type: 'reminder',
          title: 'Reminder 1',
          message: 'About 1',
          is_read: false,
          sent_at: expect.stringMatching(/Z$/),
        })
        for (const item of body) expect(apiNotification.safeParse(item).success).toBe(true)
      }
    }
  })

  it('takes unread_only as FastAPI read booleans, and answers anything else with 422', async () => {
    const user = await withInbox(3)
    await user.request('/api/notifications/mark-read', { method: 'PATCH', body: { notification_ids: [2] } })
    for (const value of ['true', 'True', '1', 'yes', 'on']) {
      const body = await (await user.request(`/api/notifications?unread_only=${value}`)).json<ApiNotification[]>()
      expect(
        body.map((n) => n.id),
        value,
      ).toEqual([3, 1])
    }
    for (const value of ['false', '0', 'no', 'off', '']) {
      const body = await (await user.request(`/api/notifications?unread_only=${value}`)).json<ApiNotification[]>()
      expect(
        body.map((n) => n.id),
        value,
      ).toEqual([3, 2, 1])
    }
    const problem = await expectProblem(await user.request('/api/notifications?unread_only=maybe'), 422)
    expect(invalidNames(problem)).toEqual(['unread_only'])
    // Unknown parameters are ignored, as FastAPI did.
    expect((await user.request('/api/notifications?page=2')).status).toBe(200)
  })

  it('counts the unread ones', async () => {
    const user = await withInbox(3)
    for (const prefix of prefixes(user)) {
      const res = await user.request(`${prefix}/unread-count`)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ unread_count: 3 })
    }
  })

  it('marks the listed ones read, ignoring unknown ids, and says how many it marked', async () => {
    const user = await withInbox(3)
    const [withUser, without] = prefixes(user)
    const first = await user.request(`${withUser}/mark-read`, {
      method: 'PATCH',
      body: { notification_ids: [1, 42, 1] },
    })
    expect(first.status).toBe(200)
    expect(await first.json()).toEqual({ marked: 1 })
    const second = await user.request(`${without}/mark-read`, { method: 'PATCH', body: { notification_ids: [1, 2] } })
    expect(await second.json()).toEqual({ marked: 1 })
    expect(await read(user)).toEqual([
      [1, 1],
      [2, 1],
      [3, 0],
    ])
  })

  it('marks all read with no body or an empty one', async () => {
    const user = await withInbox(3)
    const [withUser, without] = prefixes(user)
    const res = await user.request(`${withUser}/mark-all-read`, { method: 'PATCH' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ marked: 3 })
    expect(await (await user.request(`${without}/mark-all-read`, { method: 'PATCH', body: {} })).json()).toEqual({
      marked: 0,
    })
  })

  it('deletes one (200 with a message, as a task delete answers), then 404; a non-number id is a 404', async () => {
    const user = await withInbox(3)
    const [withUser, without] = prefixes(user)
    const res = await user.request(`${withUser}/3`, { method: 'DELETE' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ message: 'Notification deleted' })
    await expectProblem(await user.request(`${without}/3`, { method: 'DELETE' }), 404)
    await expectProblem(await user.request(`${without}/abc`, { method: 'DELETE' }), 404)
    expect((await user.request(`${without}/1`, { method: 'DELETE' })).status).toBe(200)
    expect(await read(user)).toEqual([[2, 0]])
  })

  it.each([
    [{}, ['#/notification_ids']],
    [{ notification_ids: [0] }, ['#/notification_ids/0']],
    [{ notification_ids: ['x'] }, ['#/notification_ids/0']],
    [{ notification_ids: 5 }, ['#/notification_ids']],
  ])('refuses the mark-read body %j with 422 naming %j, and marks nothing', async (body, names) => {
    const user = await withInbox(1)
    const res = await user.request('/api/notifications/mark-read', { method: 'PATCH', body })
    expect(invalidNames(await expectProblem(res, 422))).toEqual(names)
    expect(await read(user)).toEqual([[1, 0]])
  })

  it("returns 403, reads nothing and changes nothing when the path names another user, and never shows another user's inbox", async () => {
    const [owner, caller] = [await withInbox(2), await signIn()]
    const cases: [string, string, unknown?][] = [
      ['GET', `/api/${owner.id}/notifications`],
      ['GET', `/api/${owner.id}/notifications/unread-count`],
      ['PATCH', `/api/${owner.id}/notifications/mark-read`, { notification_ids: [1, 2] }],
      ['PATCH', `/api/${owner.id}/notifications/mark-all-read`],
      ['DELETE', `/api/${owner.id}/notifications/1`],
      // Not even the body is read: it would be a 422.
      ['PATCH', `/api/${owner.id}/notifications/mark-read`, { notification_ids: 'all' }],
    ]
    for (const [method, path, body] of cases) {
      const { db, counter } = countingDb(env.DB)
      const res = await request(path, { method, token: caller.token, body, env: { DB: db } })
      expect((await expectProblem(res, 403)).detail).not.toContain(owner.id)
      expect(counter.roundTrips, `${method} ${path}`).toBe(0)
    }
    // Without the user in the path, the caller's own (empty) inbox.
    expect(await (await caller.request('/api/notifications')).json()).toEqual([])
    const marked = await caller.request('/api/notifications/mark-read', {
      method: 'PATCH',
      body: { notification_ids: [1, 2] },
    })
    expect(await marked.json()).toEqual({ marked: 0 })
    await expectProblem(await caller.request('/api/notifications/1', { method: 'DELETE' }), 404)
    // A user_id in the body or the query naming someone else is a 403 too.
    await expectProblem(
      await caller.request('/api/notifications/mark-read', {
        method: 'PATCH',
        body: { notification_ids: [1], user_id: owner.id },
      }),
      403,
    )
    await expectProblem(await caller.request(`/api/notifications?user_id=${encodeURIComponent(owner.id)}`), 403)
    expect(await read(owner)).toEqual([
      [1, 0],
      [2, 0],
    ])
  })

  it('answers 401 without a token, and 405 with Allow to another method', async () => {
    const user = await signIn()
    for (const path of ['/api/notifications', `/api/${user.id}/notifications/unread-count`]) {
      await expectProblem(await request(path), 401)
    }
    const res = await user.request('/api/notifications/mark-read', { method: 'POST', body: { notification_ids: [] } })
    await expectProblem(res, 405)
    expect(res.headers.get('Allow')).toBe('PATCH')
    const del = await user.request(`/api/${user.id}/notifications/mark-all-read`, { method: 'DELETE' })
    expect(del.headers.get('Allow')).toBe('PATCH')
  })
})
