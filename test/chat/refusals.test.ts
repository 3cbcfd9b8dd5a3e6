/**
 * POST /chat refused before the model is called, storing nothing: a bad body, chat off or
 * misconfigured, the chat rate limit, an access token without both scopes, no token.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CHAT_BOUNDS } from '../../src/chat/bounds'
import { API_RESOURCE, apiAccessToken, expectProblem, request, signIn } from '../helpers'
import { chatOn, chatter, MODEL_URL, say, scriptModel, storedMessages } from './model'

afterEach(() => vi.restoreAllMocks())

describe('POST /chat refusals', () => {
  it('refuses a bad body with 400 and stores nothing, before the model is called', async () => {
    const user = await chatter()
    const model = scriptModel([])
    for (const body of [
      {},
      { message: '' },
      { message: '   ' },
      { message: 'x'.repeat(CHAT_BOUNDS.messageChars + 1) },
      { message: 'hi', conversationId: 0 },
      { message: 'hi', conversationId: 'one' },
      { message: 'hi', timeZone: 'Mars/Olympus' },
      { message: 'hi', user_id: user.id },
      { message: 'a\u0000b' },
    ]) {
      const problem = await expectProblem(await user.chat(body), 400)
      expect(problem.type).toBe('/problems/invalid-request')
    }
    // Four-byte characters count as one each.
    scriptModel([say('ok')])
    expect((await user.chat({ message: '😀'.repeat(CHAT_BOUNDS.messageChars) })).status).toBe(200)
    expect(model.requests).toHaveLength(0)
    expect(await storedMessages(user.id)).toHaveLength(2)
  })

  it('refuses a body over 16 KiB with 413', async () => {
    const user = await chatter()
    const problem = await expectProblem(await user.chat({ message: 'x', padding: 'y'.repeat(17 * 1024) }), 413)
    expect(problem.type).toBe('/problems/payload-too-large')
    expect(await storedMessages(user.id)).toEqual([])
  })

  it('answers 503 while chat is off, saying how to turn it on, and stores nothing', async () => {
    const user = await signIn()
    const model = scriptModel([say('never')])
    const res = await request('/chat', { method: 'POST', token: user.token, body: { message: 'hello' } })
    const problem = await expectProblem(res, 503)
    expect(problem.type).toBe('/problems/chat-disabled')
    expect(problem.detail).toMatch(/CHAT_API_BASE_URL and CHAT_MODEL/)
    expect(res.headers.get('Retry-After')).toBeNull()
    expect(model.requests).toHaveLength(0)
    expect(await storedMessages(user.id)).toEqual([])
  })

  it('fails closed with 500 on a configuration it cannot use, never calling a plain-HTTP remote host', async () => {
    const model = scriptModel([say('never')])
    for (const bad of [
      { CHAT_API_BASE_URL: 'http://model.example/v1' },
      { CHAT_API_BASE_URL: `${MODEL_URL}?key=1` },
      { CHAT_MODEL: '' },
      { CHAT_MAX_MODEL_CALLS: '11' },
      { CHAT_TIMEOUT_SECONDS: '0' },
      { CHAT_API_KEY: 'two words' },
      { CHAT_RATE_LIMITER: undefined },
    ] as Partial<Env>[]) {
      const user = await chatter(bad)
      const problem = await expectProblem(await user.chat({ message: 'hello' }), 500)
      expect(problem.type).toBe('/problems/server-misconfigured')
      expect(await storedMessages(user.id)).toEqual([])
    }
    expect(model.requests).toHaveLength(0)
  })

  it('counts turns on CHAT_RATE_LIMITER by the user, and answers 429 past it without storing', async () => {
    const keys: string[] = []
    const refusing = {
      limit: async ({ key }: { key: string }) => {
        keys.push(key)
        return { success: false }
      },
    } as RateLimit
    const user = await chatter({ CHAT_RATE_LIMITER: refusing })
    const problem = await expectProblem(await user.chat({ message: 'hello' }), 429)
    expect(problem.type).toBe('/problems/rate-limited')
    expect(keys).toEqual([`user:${user.id}`])
    expect(await storedMessages(user.id)).toEqual([])
    // Reading conversations is not a turn.
    expect((await user.api('/conversations')).status).toBe(200)
    expect(keys).toHaveLength(1)
  })

  it('needs both tasks:read and tasks:write on an OAuth access token', async () => {
    const user = await signIn()
    const bindings = { ...chatOn, ...API_RESOURCE }
    const tokenWith = (scope: string) => apiAccessToken(user.id, scope)
    scriptModel([say('ok')])
    for (const [scope, missing] of [
      ['tasks:read', 'tasks:write'],
      ['tasks:write', 'tasks:read'],
      ['profile', 'tasks:read tasks:write'],
    ]) {
      const res = await request('/chat', {
        method: 'POST',
        token: await tokenWith(scope!),
        body: { message: 'hi' },
        env: bindings,
      })
      await expectProblem(res, 403)
      expect(res.headers.get('WWW-Authenticate')).toContain(`scope="${missing}"`)
    }
    expect(await storedMessages(user.id)).toEqual([])
    const res = await request('/chat', {
      method: 'POST',
      token: await tokenWith('tasks:read tasks:write'),
      body: { message: 'hi' },
      env: bindings,
    })
    expect(res.status).toBe(200)
  })

  it('answers 401 without a token and 405 to other methods', async () => {
    await expectProblem(await request('/chat', { method: 'POST', body: { message: 'hi' }, env: chatOn }), 401)
    const user = await chatter()
    const res = await user.api('/chat')
    await expectProblem(res, 405)
    expect(res.headers.get('Allow')).toBe('POST')
  })
})
