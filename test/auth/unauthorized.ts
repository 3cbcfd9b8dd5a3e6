/** What the authentication tests (test/auth/) expect of a refused request. */
import { expect } from 'vitest'
import { expectProblem, request } from '../helpers'

export const CHALLENGE = 'Bearer realm="tasks"'

/** 401 problem+json, with the challenge for `error` (none when no token was presented). */
export async function expectUnauthorized(res: Response, error?: 'invalid_token' | 'invalid_request') {
  const problem = await expectProblem(res, 401)
  expect(problem.type).toBe('/problems/unauthorized')
  const challenge = res.headers.get('WWW-Authenticate') ?? ''
  if (error) expect(challenge).toMatch(new RegExp(`^${CHALLENGE}, error="${error}"`))
  else expect(challenge).toBe(CHALLENGE)
  return { problem, challenge }
}

/** GET /me with `token`, and changed bindings when given. */
export const me = (token: string, env?: Partial<Env>) => request('/me', { token, ...(env && { env }) })
