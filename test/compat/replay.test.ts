/**
 * What the FastAPI-contract frontends really do, replayed: an API client written as they write it
 * (a base URL, one fetch wrapper that sets JSON headers on every call and calls res.json() on every
 * response, error.detail shown to the user), through a whole session.
 */
import { env, exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { BASE, expectProblem, newUserId, nowSeconds, request, signIn, signJwt } from '../helpers'

interface FrontendTask {
  id: number
  user_id: string
  title: string
  description: string | null
  completed: boolean
  created_at: string
  updated_at: string
}

/** The lib/api.ts these frontends ship, nearly verbatim. */
function frontendClient(token: string, apiBase: string) {
  async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await exports.default.fetch(`${BASE}${apiBase}${path}`, {
      ...init,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    })
    // Every response is parsed, the delete's and the errors' included.
    const data = await res.json<T & { detail?: unknown }>()
    if (!res.ok) throw new Error(typeof data.detail === 'string' ? data.detail : 'Request failed')
    return data
  }
  return {
    list: () => call<FrontendTask[]>('/tasks'),
    create: (task: { title: string; description?: string }, userId: string) =>
      call<FrontendTask>('/tasks/', { method: 'POST', body: JSON.stringify({ ...task, user_id: userId }) }),
    get: (id: number) => call<FrontendTask>(`/tasks/${id}`),
    toggle: (id: number) => call<FrontendTask>(`/tasks/${id}/complete`, { method: 'PATCH' }),
    update: (id: number, changes: Partial<FrontendTask>) =>
      call<FrontendTask>(`/tasks/${id}`, { method: 'PUT', body: JSON.stringify(changes) }),
    remove: (id: number) => call<{ message: string }>(`/tasks/${id}`, { method: 'DELETE' }),
  }
}

const stored = (userId: string) =>
  env.DB.prepare('SELECT number, title, description, completed FROM tasks WHERE user_id = ?1 ORDER BY number')
    .bind(userId)
    .all()
    .then((r) => r.results)

describe('a frontend written against the FastAPI contract', () => {
  for (const form of ['with the user id in the path', 'without it'] as const) {
    it(`lists, creates, toggles without a body, edits with PUT and deletes, ${form}`, async () => {
      const user = await signIn()
      const api = frontendClient(user.token, form === 'without it' ? '/api' : `/api/${user.id}`)

      expect(await api.list()).toEqual([])

      const created = await api.create({ title: 'Buy milk', description: '' }, user.id)
      expect(created).toMatchObject({ id: 1, user_id: user.id, title: 'Buy milk', description: null, completed: false })
      expect(await api.list()).toEqual([created])

      const toggled = await api.toggle(created.id)
      expect(toggled.completed).toBe(true)
      expect(await stored(user.id)).toEqual([{ number: 1, title: 'Buy milk', description: '', completed: 1 }])

      // The edit form sends the task back with its changes.
      const edited = await api.update(created.id, { ...toggled, title: 'Buy oat milk', description: '2 litres' })
      expect(edited).toMatchObject({ id: 1, title: 'Buy oat milk', description: '2 litres', completed: true })

      // The detail page parses the id from its own URL.
      const url = new URL(`https://frontend.test/tasks/${edited.id}`)
      expect(await api.get(Number.parseInt(url.pathname.split('/').pop()!, 10))).toEqual(edited)

      expect(await api.remove(created.id)).toEqual({ message: 'Task deleted' })
      expect(await api.list()).toEqual([])
      expect(await stored(user.id)).toEqual([])

      // Errors are shown as error.detail.
      await expect(api.create({ title: '' }, user.id)).rejects.toThrow(/^Invalid request body\. title: /)
      await expect(api.get(1)).rejects.toThrow('No task has this id.')
    })
  }
})

describe('the HS256 token a Next.js route mints with BETTER_AUTH_SECRET (jose SignJWT, shared-secret mode)', () => {
  // What SignJWT writes: only alg in the header; sub, iat and exp set, no iss or aud.
  const mint = (claims: Record<string, unknown>) => signJwt(claims, { header: { alg: 'HS256' } })

  it('is accepted when it has sub and exp', async () => {
    const sub = newUserId()
    const token = await mint({ sub, email: 'a@example.com', name: 'A', iat: nowSeconds(), exp: nowSeconds() + 3600 })
    const res = await request(`/api/${sub}/tasks`, { method: 'POST', token, body: { title: 'minted' } })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ user_id: sub, id: 1 })
  })

  it('is refused without exp or without sub, and nothing is stored', async () => {
    const sub = newUserId()
    for (const claims of [
      { sub, iat: nowSeconds() },
      { iat: nowSeconds(), exp: nowSeconds() + 3600 },
    ]) {
      const res = await request('/api/tasks', { method: 'POST', token: await mint(claims), body: { title: 'minted' } })
      await expectProblem(res, 401)
    }
    expect(await stored(sub)).toEqual([])
  })
})
