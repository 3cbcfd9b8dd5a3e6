/**
 * D1 round trips of a chat turn: the user's message stored and the history read in one, the answer
 * and the tool calls stored in one, and one for each tool call (the task service's own budget).
 */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { countingDb, request } from '../helpers'
import { call, chatOn, chatter, say, scriptModel } from './model'

afterEach(() => vi.restoreAllMocks())

describe('D1 round trips per chat turn', () => {
  it('is at most 3 plus one per tool call, for a new conversation and a continued one', async () => {
    const user = await chatter()
    for (const conversationId of [undefined, 1]) {
      scriptModel([call(['add_task', { title: 'Counted' }]), say('Added.')])
      const { db, counter } = countingDb(env.DB)
      const res = await request('/chat', {
        method: 'POST',
        token: user.token,
        body: { conversationId, message: 'Add counted' },
        env: { ...chatOn, DB: db },
      })
      expect(res.status).toBe(200)
      expect(counter.roundTrips, counter.statements.join(' | ')).toBeLessThanOrEqual(3 + 1)
      // As it stands: one to begin, one for add_task, one to keep the answer.
      expect(counter.roundTrips).toBe(3)
    }
  })

  it('is two for a turn without tools, and one per page of conversations', async () => {
    const user = await chatter()
    scriptModel([say('Hello.')])
    const { db, counter } = countingDb(env.DB)
    const bindings = { ...chatOn, DB: db }
    const turn = await request('/chat', { method: 'POST', token: user.token, body: { message: 'hi' }, env: bindings })
    expect(turn.status).toBe(200)
    expect(counter.roundTrips).toBe(2)
    for (const path of ['/conversations', '/conversations/1']) {
      const before = counter.roundTrips
      expect((await request(path, { token: user.token, env: bindings })).status).toBe(200)
      expect(counter.roundTrips - before, path).toBe(1)
    }
  })
})
