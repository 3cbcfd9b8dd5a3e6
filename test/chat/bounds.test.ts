/**
 * The stored bounds of chat, in code (src/chat/bounds.ts) and in SQL (migrations/0013): the two agree,
 * and what the code stores always fits what the schema allows.
 */
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CHAT_BOUNDS } from '../../src/chat/bounds'
import { historyMessages } from '../../src/chat/prompt'
import { codePoints, storable, storedToolCalls, titleOf } from '../../src/chat/stored'
import type { StoredMessage, ToolCallRecord } from '../../src/conversations/service'
import { newUserId } from '../helpers'

const NOW = '2026-01-01T00:00:00.000Z'

async function conversationOf(userId: string, title = 't') {
  await env.DB.prepare(
    'INSERT INTO conversations (user_id, number, title, created_at, updated_at) VALUES (?1, 1, ?2, ?3, ?3)',
  )
    .bind(userId, title, NOW)
    .run()
}

const insertMessage = (userId: string, content: string, toolCalls = '[]') =>
  env.DB.prepare(
    `INSERT INTO chat_messages (user_id, conversation, seq, role, content, tool_calls, created_at)
     VALUES (?1, 1, (SELECT messages FROM conversations WHERE user_id = ?1 AND number = 1) + 1, 'assistant', ?2, ?3, ?4)`,
  )
    .bind(userId, content, toolCalls, NOW)
    .run()

describe('the schema and CHAT_BOUNDS', () => {
  it('allows a message, an answer and tool calls at their bounds, in four-byte characters, and refuses one more', async () => {
    const userId = newUserId()
    await conversationOf(userId)
    const longest = Math.max(CHAT_BOUNDS.messageChars, CHAT_BOUNDS.answerChars)
    await insertMessage(userId, '😀'.repeat(longest))
    await expect(insertMessage(userId, '😀'.repeat(longest + 1))).rejects.toThrow(/CHECK/)
    const calls = `[${'"x",'.repeat((CHAT_BOUNDS.storedToolCallsChars - 5) / 4)}1]`
    expect(calls.length).toBeLessThanOrEqual(CHAT_BOUNDS.storedToolCallsChars)
    await insertMessage(userId, 'ok', calls)
    await expect(
      insertMessage(userId, 'ok', `[${'1,'.repeat(CHAT_BOUNDS.storedToolCallsChars / 2)}1]`),
    ).rejects.toThrow(/CHECK/)
    await expect(insertMessage(userId, 'ok', '{"not":"an array"}')).rejects.toThrow(/CHECK/)
  })

  it('allows a title at its bound and refuses one more', async () => {
    await conversationOf(newUserId(), 'ü'.repeat(CHAT_BOUNDS.titleChars))
    await expect(conversationOf(newUserId(), 'ü'.repeat(CHAT_BOUNDS.titleChars + 1))).rejects.toThrow(/CHECK/)
  })

  it('numbers conversations and messages as the triggers demand, and never moves them', async () => {
    const userId = newUserId()
    await conversationOf(userId)
    await expect(
      env.DB.prepare(
        "INSERT INTO conversations (user_id, number, title, created_at, updated_at) VALUES (?1, 3, 't', ?2, ?2)",
      )
        .bind(userId, NOW)
        .run(),
    ).rejects.toThrow(/last_number \+ 1/)
    await expect(
      env.DB.prepare(
        "INSERT INTO chat_messages (user_id, conversation, seq, role, content, created_at) VALUES (?1, 1, 5, 'user', 'x', ?2)",
      )
        .bind(userId, NOW)
        .run(),
    ).rejects.toThrow(/messages \+ 1/)
    await insertMessage(userId, 'first')
    await expect(
      env.DB.prepare("UPDATE chat_messages SET content = 'changed' WHERE user_id = ?1").bind(userId).run(),
    ).rejects.toThrow(/never changed/)
    await expect(
      env.DB.prepare("UPDATE conversations SET user_id = 'someone-else' WHERE user_id = ?1").bind(userId).run(),
    ).rejects.toThrow(/immutable/)
  })
})

const record = fc.record({
  name: fc.string({ maxLength: 64 }),
  arguments: fc.jsonValue({ maxDepth: 3 }),
  result: fc.jsonValue({ maxDepth: 3 }),
}) as fc.Arbitrary<ToolCallRecord>

describe('what a turn stores', () => {
  it('keeps tool calls within the bound, in order, naming every call, whatever they hold', () => {
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: CHAT_BOUNDS.toolCallsPerTurn }),
        fc.integer({ min: 3000, max: 16_000 }),
        (calls, budget) => {
          const json = storedToolCalls(calls, budget)
          expect(codePoints(json)).toBeLessThanOrEqual(budget)
          const kept = JSON.parse(json) as ToolCallRecord[]
          expect(kept.map((c) => c.name)).toEqual(calls.map((c) => c.name))
        },
      ),
    )
  })

  it('keeps small calls whole, and notes the size of a result too long to keep', () => {
    const small = { name: 'add_task', arguments: { title: 'a' }, result: { status: 'created' } }
    const big = { name: 'list_tasks', arguments: {}, result: { tasks: 'x'.repeat(20_000) } }
    const kept = JSON.parse(storedToolCalls([small, big, small])) as ToolCallRecord[]
    expect(kept[0]).toEqual(small)
    expect(kept[1]).toEqual({
      name: 'list_tasks',
      arguments: {},
      result: { omitted: '20012 characters, too long to keep' },
    })
    expect(kept[2]).toEqual(small)
  })

  it('stores text well-formed, without NUL, and cut with an ellipsis at the bound', () => {
    expect(storable('a\u0000b\ud800', 10)).toBe('ab\ufffd')
    expect(storable('😀'.repeat(5), 3)).toBe('😀😀…')
    expect(titleOf('  Buy\n\tmilk  ')).toBe('Buy milk')
  })
})

describe('the history sent to the model', () => {
  const message = (
    seq: number,
    role: 'user' | 'assistant',
    content: string,
    toolCalls: ToolCallRecord[] = [],
  ): StoredMessage => ({
    seq,
    role,
    content,
    toolCalls,
    createdAt: NOW,
  })

  it('keeps the newest messages within the budget, starting with a user message', () => {
    const stored = Array.from({ length: 40 }, (_, i) => message(i + 1, i % 2 ? 'assistant' : 'user', 'x'.repeat(2000)))
    const sent = historyMessages(stored)
    expect(sent.length).toBeLessThanOrEqual(CHAT_BOUNDS.historyMessages)
    expect(sent.reduce((n, m) => n + String(m.content).length, 0)).toBeLessThanOrEqual(CHAT_BOUNDS.historyChars)
    expect(sent[0]!.role).toBe('user')
    expect(sent.at(-1)).toEqual({ role: 'assistant', content: 'x'.repeat(2000) })
  })

  it('replays an answer that ran tools as the calls, their results and its text', () => {
    const call = { name: 'add_task', arguments: { title: 'a' }, result: { status: 'created' } }
    expect(historyMessages([message(1, 'user', 'add a'), message(2, 'assistant', 'Added.', [call])])).toEqual([
      { role: 'user', content: 'add a' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'm2_1', type: 'function', function: { name: 'add_task', arguments: '{"title":"a"}' } }],
      },
      { role: 'tool', tool_call_id: 'm2_1', content: '{"status":"created"}' },
      { role: 'assistant', content: 'Added.' },
    ])
  })
})
