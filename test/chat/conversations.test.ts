/**
 * /conversations and their bounds: a page newest first, one with its messages, a delete; numbers
 * per user and never reused; another user's conversation is a 404 on every route, the chat turn
 * included, and nothing of it leaks; a full conversation and a user at the limit are 409s.
 */
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CHAT_BOUNDS } from '../../src/chat/bounds'
import { EXPORT_MESSAGES_PAGE } from '../../src/chat/export'
import { conversationDetail, conversationPage } from '../../src/chat/requests'
import { countingDb, expectProblem, request } from '../helpers'
import { call, chatter, say, scriptModel, storedMessages } from './model'

afterEach(() => vi.restoreAllMocks())

type Chatter = Awaited<ReturnType<typeof chatter>>

/** `count` one-turn conversations, each answered "answer <n>". */
async function converse(user: Chatter, count: number) {
  for (let n = 1; n <= count; n++) {
    scriptModel([say(`answer ${n}`)])
    expect((await user.chat({ message: `conversation ${n}` })).status).toBe(200)
  }
}

describe('GET /conversations', () => {
  it('pages through your conversations newest first, with a cursor', async () => {
    const user = await chatter()
    await converse(user, 5)
    const first = await (await user.api('/conversations?limit=2')).json<{
      items: { id: number }[]
      nextCursor: string
    }>()
    expect(conversationPage.safeParse(first).success).toBe(true)
    expect(first.items.map((c) => c.id)).toEqual([5, 4])
    const second = await (await user.api(`/conversations?limit=2&cursor=${first.nextCursor}`)).json<typeof first>()
    expect(second.items.map((c) => c.id)).toEqual([3, 2])
    const last = await (await user.api(`/conversations?limit=2&cursor=${second.nextCursor}`)).json<typeof first>()
    expect(last).toEqual({ items: [expect.objectContaining({ id: 1 })], nextCursor: null })
    const all = await (await user.api('/conversations')).json<{ items: Record<string, unknown>[] }>()
    expect(all.items[4]).toEqual({
      id: 1,
      title: 'conversation 1',
      messageCount: 2,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    })
  })

  it('refuses unknown or bad parameters with 400', async () => {
    const user = await chatter()
    for (const query of ['limit=0', 'limit=101', 'cursor=abc', 'cursor=-1', 'user_id=x']) {
      await expectProblem(await user.api(`/conversations?${query}`), 400)
    }
  })

  it('shows nothing of anyone else', async () => {
    const owner = await chatter()
    await converse(owner, 2)
    const other = await chatter()
    expect(await (await other.api('/conversations')).json()).toEqual({ items: [], nextCursor: null })
  })
})

describe('GET and DELETE /conversations/{id}', () => {
  it('shows a conversation with its messages and tool calls, and deletes it with them', async () => {
    const user = await chatter()
    scriptModel([call(['add_task', { title: 'From chat' }]), say('Added.')])
    await user.chat({ message: 'Add from chat' })
    const res = await user.api('/conversations/1')
    expect(res.status).toBe(200)
    const detail = await res.json<{ messages: Record<string, unknown>[] }>()
    expect(conversationDetail.safeParse(detail).success).toBe(true)
    expect(detail).toMatchObject({ id: 1, title: 'Add from chat', messageCount: 2 })
    expect(detail.messages).toEqual([
      { role: 'user', content: 'Add from chat', toolCalls: [], createdAt: expect.any(String) },
      {
        role: 'assistant',
        content: 'Added.',
        toolCalls: [
          {
            name: 'add_task',
            arguments: { title: 'From chat' },
            result: expect.objectContaining({ status: 'created' }),
          },
        ],
        createdAt: expect.any(String),
      },
    ])

    const deleted = await user.api('/conversations/1', { method: 'DELETE' })
    expect(deleted.status).toBe(204)
    expect(await storedMessages(user.id)).toEqual([])
    await expectProblem(await user.api('/conversations/1'), 404)
    await expectProblem(await user.api('/conversations/1', { method: 'DELETE' }), 404)
    // The task the conversation made stays.
    expect((await user.request('/tasks')).status).toBe(200)
    expect((await (await user.request('/tasks')).json<{ items: unknown[] }>()).items).toHaveLength(1)
  })

  it('never hands a number out again, even after its conversation is deleted', async () => {
    const user = await chatter()
    await converse(user, 2)
    expect((await user.api('/conversations/2', { method: 'DELETE' })).status).toBe(204)
    scriptModel([say('again')])
    expect(await (await user.chat({ message: 'third' })).json()).toMatchObject({ conversationId: 3 })
  })

  it("answers 404 for another user's conversation on every route, and neither reads nor changes it", async () => {
    const owner = await chatter()
    scriptModel([say('secret answer')])
    await owner.chat({ message: 'my secret' })
    const intruder = await chatter()
    const model = scriptModel([say('never')])
    for (const res of [
      await intruder.api('/conversations/1'),
      await intruder.api('/conversations/1', { method: 'DELETE' }),
      await intruder.chat({ conversationId: 1, message: 'what did they say?' }),
    ]) {
      const text = await res.clone().text()
      const problem = await expectProblem(res, 404)
      expect(problem.type).toBe('/problems/not-found')
      expect(text).not.toContain('secret')
    }
    expect(model.requests).toHaveLength(0)
    expect(await storedMessages(intruder.id)).toEqual([])
    expect((await storedMessages(owner.id)).map((m) => m.content)).toEqual(['my secret', 'secret answer'])
  })

  it('answers 404 for ids that name no conversation, and 405 to other methods', async () => {
    const user = await chatter()
    for (const id of ['0', '-1', 'abc', '1.5', '99999999999999999999', '00000000-0000-4000-8000-000000000000']) {
      await expectProblem(await user.api(`/conversations/${id}`), 404)
    }
    const put = await user.api('/conversations/1', { method: 'PUT', body: {} })
    await expectProblem(put, 405)
    expect(put.headers.get('Allow')).toBe('GET, HEAD, DELETE')
    const post = await user.api('/conversations', { method: 'POST', body: {} })
    expect(post.headers.get('Allow')).toBe('GET, HEAD')
  })
})

describe('bounds per user', () => {
  it('refuses a turn in a full conversation with 409, storing nothing', async () => {
    const user = await chatter()
    await converse(user, 1)
    // Filled in SQL up to the last turn that fits: a hundred requests would test the model, not the bound.
    const insert = env.DB.prepare(
      `INSERT INTO chat_messages (user_id, conversation, seq, role, content, created_at)
       VALUES (?1, 1, ?2, ?3, 'filler', '2026-01-01T00:00:00.000Z')`,
    )
    const seqs = Array.from({ length: CHAT_BOUNDS.messagesPerConversation - 4 }, (_, i) => i + 3)
    await env.DB.batch(seqs.map((seq) => insert.bind(user.id, seq, seq % 2 ? 'user' : 'assistant')))
    scriptModel([say('the last answer')])
    expect((await user.chat({ conversationId: 1, message: 'last turn' })).status).toBe(200)
    expect(await storedMessages(user.id)).toHaveLength(CHAT_BOUNDS.messagesPerConversation)

    const model = scriptModel([say('never')])
    const problem = await expectProblem(await user.chat({ conversationId: 1, message: 'one more' }), 409)
    expect(problem.type).toBe('/problems/conversation-full')
    expect(model.requests).toHaveLength(0)
    expect(await storedMessages(user.id)).toHaveLength(CHAT_BOUNDS.messagesPerConversation)
    // A new conversation still works.
    scriptModel([say('fresh')])
    expect(await (await user.chat({ message: 'new one' })).json()).toMatchObject({ conversationId: 2 })
  })

  it('refuses a new conversation past the limit with 409, until one is deleted', async () => {
    const user = await chatter()
    await converse(user, 1)
    // The rest in SQL, through the same triggers that number and count them.
    const insert = env.DB.prepare(
      `INSERT INTO conversations (user_id, number, title, created_at, updated_at)
       VALUES (?1, ?2, 'filler', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`,
    )
    const numbers = Array.from({ length: CHAT_BOUNDS.conversationsPerUser - 1 }, (_, i) => i + 2)
    await env.DB.batch(numbers.map((n) => insert.bind(user.id, n)))

    const model = scriptModel([say('never')])
    const problem = await expectProblem(await user.chat({ message: 'one too many' }), 409)
    expect(problem.type).toBe('/problems/conversation-limit')
    expect(model.requests).toHaveLength(0)
    const count = await env.DB.prepare('SELECT count(*) AS n FROM conversations WHERE user_id = ?1')
      .bind(user.id)
      .first<{ n: number }>()
    expect(count?.n).toBe(CHAT_BOUNDS.conversationsPerUser)
    // Continuing one still works; deleting one makes room.
    scriptModel([say('continued'), say('room again')])
    expect((await user.chat({ conversationId: 1, message: 'go on' })).status).toBe(200)
    expect((await user.api('/conversations/50', { method: 'DELETE' })).status).toBe(204)
    expect(await (await user.chat({ message: 'now it fits' })).json()).toMatchObject({
      conversationId: CHAT_BOUNDS.conversationsPerUser + 1,
    })
  })

  it('keeps an answer and tool calls within their stored bounds, however long the model goes on', async () => {
    const user = await chatter()
    const many = Array.from({ length: 8 }, (_, i): [string, unknown] => [
      'add_task',
      { title: `T${i}`, description: 'd'.repeat(1000) },
    ])
    scriptModel([call(...many), call(['list_tasks', { limit: 100 }]), say('y'.repeat(20_000))])
    const res = await user.chat({ message: 'Go long' })
    expect(res.status).toBe(200)
    const reply = await res.json<{ response: string; toolCalls: unknown[] }>()
    expect([...reply.response].length).toBe(CHAT_BOUNDS.answerChars)
    expect(reply.response.endsWith('…')).toBe(true)
    // The answer carries every result whole; what is kept fits the bound, in order, naming every call.
    expect(reply.toolCalls).toHaveLength(9)
    const [, kept] = await storedMessages(user.id)
    expect(kept!.content).toBe(reply.response)
    expect(kept!.tool_calls.map((c) => (c as { name: string }).name)).toEqual([
      ...Array(8).fill('add_task'),
      'list_tasks',
    ])
    const stored = await env.DB.prepare(
      "SELECT length(tool_calls) AS n FROM chat_messages WHERE user_id = ?1 AND role = 'assistant'",
    )
      .bind(user.id)
      .first<{ n: number }>()
    expect(stored!.n).toBeLessThanOrEqual(CHAT_BOUNDS.storedToolCallsChars)
    expect(JSON.stringify(kept!.tool_calls)).toContain('too long to keep')
  })
})

describe('erasure and export', () => {
  it('exports every conversation with all its messages, as GET /conversations/{id} shows them, a page at a time', async () => {
    const user = await chatter()
    scriptModel([call(['add_task', { title: 'Exported' }]), say('Added.')])
    await user.chat({ message: 'first conversation' })
    await converse(user, 1)
    // A third, long conversation, filled in SQL: more messages than one export page.
    const insert = env.DB.prepare(
      `INSERT INTO chat_messages (user_id, conversation, seq, role, content, created_at)
       VALUES (?1, 2, ?2, 'user', 'more ' || ?2, '2026-01-01T00:00:00.000Z')`,
    )
    await env.DB.batch(Array.from({ length: EXPORT_MESSAGES_PAGE * 2 - 2 }, (_, i) => insert.bind(user.id, i + 3)))
    const other = await chatter()
    await converse(other, 1)

    const { db, counter } = countingDb(env.DB)
    const res = await request('/me/export', { token: user.token, env: { DB: db } })
    const body = await res.json<{ conversations: { id: number; messages: unknown[] }[] }>()
    expect(body.conversations.map((c) => [c.id, c.messages.length])).toEqual([
      [1, 2],
      [2, EXPORT_MESSAGES_PAGE * 2],
    ])
    for (const conversation of body.conversations) {
      expect(conversation).toEqual(await (await user.api(`/conversations/${conversation.id}`)).json())
    }
    // Tasks, the event log and the notifications: one page each; conversations: one round trip
    // each, one more for the long one's second page and one for its (empty) third, and one to find
    // there are no more.
    expect(counter.roundTrips).toBe(3 + 2 + 2 + 1)
  })

  it('erases every conversation with DELETE /me, and a new one starts at 1', async () => {
    const user = await chatter()
    await converse(user, 2)
    const other = await chatter()
    await converse(other, 1)
    expect((await user.request('/me', { method: 'DELETE' })).status).toBe(204)
    expect(await storedMessages(user.id)).toEqual([])
    expect(await (await user.api('/conversations')).json()).toEqual({ items: [], nextCursor: null })
    expect(await storedMessages(other.id)).toHaveLength(2)
    scriptModel([say('fresh start')])
    expect(await (await user.chat({ message: 'again' })).json()).toMatchObject({ conversationId: 1 })
  })
})
