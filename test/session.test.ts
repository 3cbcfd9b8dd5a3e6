import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { expectProblem, invalidNames, request, signIn } from './helpers'

const BOOKMARK = /^[0-9a-f]+(-[0-9a-f]+){1,7}$/

describe('D1 sessions (read replicas)', () => {
  it('returns the session bookmark on every task response, errors included', async () => {
    const user = await signIn()
    const created = await user.request('/tasks', { method: 'POST', body: { title: 'bookmarked' } })
    expect(created.headers.get('x-d1-bookmark')).toMatch(BOOKMARK)
    const listed = await user.request('/tasks')
    expect(listed.headers.get('x-d1-bookmark')).toMatch(BOOKMARK)
    const missing = await user.request(`/tasks/${crypto.randomUUID()}`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get('x-d1-bookmark')).toMatch(BOOKMARK)
  })

  it('starts the session at the bookmark the client sends back, so it reads its own write', async () => {
    const user = await signIn()
    const created = await user.request('/tasks', { method: 'POST', body: { title: 'mine' } })
    const { id } = await created.json<{ id: string }>()
    const bookmark = created.headers.get('x-d1-bookmark')!
    const seen: (string | undefined)[] = []
    const DB = new Proxy(env.DB, {
      get: (target, prop) =>
        prop === 'withSession'
          ? (constraint?: string) => {
              seen.push(constraint)
              return target.withSession(constraint)
            }
          : Reflect.get(target, prop, target),
    })
    const res = await user.request(`/tasks/${id}`, { headers: { 'x-d1-bookmark': bookmark }, env: { DB } })
    expect(res.status).toBe(200)
    expect(seen).toEqual([bookmark])
    // The newest bookmark is never older than the one the client sent.
    expect(res.headers.get('x-d1-bookmark')! >= bookmark).toBe(true)
    await user.request('/tasks', { env: { DB } })
    expect(seen).toEqual([bookmark, 'first-unconstrained'])
  })

  it.each(['00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683', '00000000-00000002-00000000-00000000000000'])(
    'accepts the bookmark shapes of production and of local D1 (%s)',
    async (bookmark) => {
      const user = await signIn()
      expect((await user.request('/tasks', { headers: { 'x-d1-bookmark': bookmark } })).status).toBe(200)
    },
  )

  it.each([
    'not-a-bookmark',
    '00000085',
    '00000085-0000024c-00004c6d-',
    `00000085-${'0'.repeat(200)}`,
    '00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683x',
    "00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf89168' OR 1=1",
    'x'.repeat(4096),
  ])('refuses a malformed bookmark %# with 400 naming the header, before any query', async (bookmark) => {
    const user = await signIn()
    const res = await user.request('/tasks', { headers: { 'x-d1-bookmark': bookmark } })
    expect(invalidNames(await expectProblem(res, 400))).toEqual(['x-d1-bookmark'])
  })

  it('answers 400, not 500, when D1 cannot start a session at a well-shaped bookmark', async () => {
    const user = await signIn()
    const DB = new Proxy(env.DB, {
      get: (target, prop) =>
        prop === 'withSession'
          ? (constraint?: string) => {
              if (constraint !== 'first-unconstrained') throw new Error('D1_ERROR: invalid bookmark')
              return target.withSession(constraint)
            }
          : Reflect.get(target, prop, target),
    })
    const bookmark = 'ffffffff-ffffffff-ffffffff-ffffffffffffffffffffffffffffffff'
    const res = await user.request('/tasks', { headers: { 'x-d1-bookmark': bookmark }, env: { DB } })
    expect(invalidNames(await expectProblem(res, 400))).toEqual(['x-d1-bookmark'])
    expect((await user.request('/tasks', { env: { DB } })).status).toBe(200)
  })

  it('lets a browser send and read the bookmark cross-origin', async () => {
    const preflight = await request('/tasks', {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Headers': 'authorization,x-d1-bookmark' },
    })
    expect(preflight.headers.get('Access-Control-Allow-Headers')?.toLowerCase()).toContain('x-d1-bookmark')
    const user = await signIn()
    const res = await user.request('/tasks', { headers: { Origin: 'http://localhost:3000' } })
    expect(res.headers.get('Access-Control-Expose-Headers')?.toLowerCase()).toContain('x-d1-bookmark')
  })
})
