/** What the /api route tests share: the signed-in user of the running test, and helpers over it. */
import { env } from 'cloudflare:workers'
import { beforeEach, expect } from 'vitest'
import type { ApiTask } from '../../src/compat/task'
import { type SignedIn, signIn } from '../helpers'

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
/** For tests that make dozens of requests: well within the default alone, not on a busy machine. */
export const MANY_REQUESTS = { timeout: 60_000 }

/** The user each test acts as, signed in afresh before it by actAsAFreshUser(). */
export let user: SignedIn

/**
 * Signs `user` in afresh before each test of the calling file. A hook registered in this module's
 * body would run only for the first file to import it: files share their modules (vitest.config.ts).
 */
export const actAsAFreshUser = () =>
  beforeEach(async () => {
    user = await signIn()
  })

/** Both forms of every path: with the caller's id and without. */
export const forms = () => [`/api/${user.id}/tasks`, '/api/tasks']

export const create = async (body: Record<string, unknown> = {}, who = user): Promise<ApiTask> => {
  const res = await who.request('/api/tasks', { method: 'POST', body: { title: 'A task', ...body } })
  expect(res.status).toBe(201)
  return res.json<ApiTask>()
}

export const storedByNumber = (userId: string, number: number) =>
  env.DB.prepare('SELECT * FROM tasks WHERE user_id = ?1 AND number = ?2')
    .bind(userId, number)
    .first<Record<string, unknown>>()

export const countOf = async (userId: string) =>
  (await env.DB.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1').bind(userId).first<{ n: number }>())!.n
