/**
 * Every way the model can fail a turn: unreachable, slow, a non-2xx, 429/503, an answer that is not
 * a chat completion. Each is a 502, 503 or 504 problem that still carries the conversation and the
 * tool calls already run (kept with the conversation), never a 500 and never a hang past the timeout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CHAT_BOUNDS } from '../../src/chat/bounds'
import { expectProblem } from '../helpers'
import { API_KEY, answer, call, chatter, completion, say, scriptModel, storedMessages, storedTasks } from './model'

afterEach(() => vi.restoreAllMocks())

interface FaultBody {
  type: string
  detail: string
  conversationId: number
  toolCalls: { name: string; result: Record<string, unknown> }[]
}

const fails =
  (status: number, headers: Record<string, string> = {}) =>
  () =>
    new Response('{"error":{"message":"nope","type":"invalid_request_error","code":"x"}}', { status, headers })

describe('a model that fails', () => {
  it('after a tool call ran: 502 with the conversation and the tool call, both kept', async () => {
    const user = await chatter()
    scriptModel([call(['add_task', { title: 'Kept' }]), fails(500)])
    const res = await user.chat({ message: 'Add kept' })
    const problem = (await expectProblem(res, 502)) as unknown as FaultBody
    expect(problem).toMatchObject({
      type: '/problems/model-failed',
      conversationId: 1,
      toolCalls: [{ name: 'add_task', result: expect.objectContaining({ status: 'created', title: 'Kept' }) }],
    })
    expect(problem.detail).toMatch(/status 500/)
    expect(await storedTasks(user.id)).toEqual([{ number: 1, title: 'Kept', completed: 0 }])
    const [asked, kept] = await storedMessages(user.id)
    expect(asked).toMatchObject({ role: 'user', content: 'Add kept' })
    expect(kept).toMatchObject({ role: 'assistant', content: '(No answer: the model failed.)' })
    expect(kept!.tool_calls).toEqual(problem.toolCalls)

    // The conversation goes on, and the model is told what was done.
    const model = scriptModel([say('Yes, it is added.')])
    expect((await user.chat({ conversationId: 1, message: 'Did it work?' })).status).toBe(200)
    expect(model.requests[0]!.body.messages.map((m) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
    ])
  })

  it('unreachable: 502, and the message is kept', async () => {
    const user = await chatter()
    scriptModel([
      () => {
        throw new TypeError('Network connection lost.')
      },
    ])
    const problem = (await expectProblem(await user.chat({ message: 'hello' }), 502)) as unknown as FaultBody
    expect(problem).toMatchObject({ type: '/problems/model-failed', conversationId: 1, toolCalls: [] })
    expect(problem.detail).toMatch(/could not be reached/)
    expect((await storedMessages(user.id)).map((m) => m.content)).toEqual([
      'hello',
      '(No answer: the model could not be reached.)',
    ])
  })

  it.each([400, 401, 403, 404, 500])(
    'answering %i: 502, naming the status but nothing the model said',
    async (status) => {
      const user = await chatter()
      scriptModel([fails(status)])
      const res = await user.chat({ message: 'hello' })
      const text = await res.clone().text()
      const problem = (await expectProblem(res, 502)) as unknown as FaultBody
      expect(problem.detail).toContain(`status ${status}`)
      expect(text).not.toContain('nope')
      expect(text).not.toContain(API_KEY)
    },
  )

  it.each([429, 503])("answering %i: 503 model-busy, with the model's Retry-After when it gave one", async (status) => {
    const user = await chatter()
    scriptModel([fails(status, { 'Retry-After': '17' }), fails(status)])
    const res = await user.chat({ message: 'hello' })
    const problem = (await expectProblem(res, 503)) as unknown as FaultBody
    expect(problem).toMatchObject({ type: '/problems/model-busy', conversationId: 1, toolCalls: [] })
    expect(res.headers.get('Retry-After')).toBe('17')

    const again = await user.chat({ conversationId: 1, message: 'hello?' })
    await expectProblem(again, 503)
    expect(again.headers.get('Retry-After')).toBeNull()
    expect(await storedMessages(user.id)).toHaveLength(4)
  })

  it.each([
    ['not JSON', () => new Response('<html>oops</html>', { headers: { 'Content-Type': 'text/html' } })],
    ['JSON but not a completion', () => completion({ object: 'list', data: [] })],
    ['no choices', () => completion({ choices: [] })],
    [
      'a tool call without a name',
      () => completion({ choices: [{ message: { tool_calls: [{ function: { arguments: '{}' } }] } }] }),
    ],
    ['content that is not text', () => completion({ choices: [{ message: { content: { evil: true } } }] })],
    [
      'over a megabyte',
      () => completion({ choices: [{ message: { content: 'x'.repeat(CHAT_BOUNDS.modelResponseBytes) } }] }),
    ],
  ])('answering %s: 502', async (_name, step) => {
    const user = await chatter()
    scriptModel([step])
    const problem = (await expectProblem(await user.chat({ message: 'hello' }), 502)) as unknown as FaultBody
    expect(problem).toMatchObject({ type: '/problems/model-failed', conversationId: 1 })
    expect(problem.detail).toMatch(/cannot read/)
  })

  it('too slow: 504 after CHAT_TIMEOUT_SECONDS, not later, with the tool calls already run', async () => {
    const user = await chatter({ CHAT_TIMEOUT_SECONDS: '1' })
    let aborted = false
    scriptModel([
      call(['add_task', { title: 'Before the wait' }]),
      (_body, signal) =>
        new Promise<Response>((_, reject) => {
          signal?.addEventListener('abort', () => {
            aborted = true
            reject(new DOMException('aborted', 'AbortError'))
          })
        }),
    ])
    const started = Date.now()
    const problem = (await expectProblem(await user.chat({ message: 'hello' }), 504)) as unknown as FaultBody
    const waited = Date.now() - started
    expect(waited).toBeGreaterThanOrEqual(1000)
    expect(waited).toBeLessThan(3000)
    expect(aborted).toBe(true)
    expect(problem).toMatchObject({ type: '/problems/model-timeout', conversationId: 1 })
    expect(problem.toolCalls.map((c) => c.name)).toEqual(['add_task'])
    expect(problem.detail).toMatch(/within 1 seconds/)
    expect((await storedMessages(user.id))[1]).toMatchObject({
      content: '(No answer: the model did not answer in time.)',
    })
  })

  it('too slow while sending its body: 504 all the same', async () => {
    const user = await chatter({ CHAT_TIMEOUT_SECONDS: '1' })
    scriptModel([
      () => {
        const body = new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"choices":'))
          },
        })
        return new Response(body, { headers: { 'Content-Type': 'application/json' } })
      },
    ])
    const started = Date.now()
    await expectProblem(await user.chat({ message: 'hello' }), 504)
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('never reads a redirect as an answer', async () => {
    const user = await chatter()
    scriptModel([() => new Response(null, { status: 302, headers: { Location: 'https://elsewhere.example/' } })])
    const problem = await expectProblem(await user.chat({ message: 'hello' }), 502)
    expect(problem.detail).toMatch(/status 302/)
  })

  it('answers a model that sends arguments as an object or leaves out ids, as servers do', async () => {
    const user = await chatter()
    scriptModel([
      () =>
        completion({
          choices: [
            {
              message: {
                content: '',
                tool_calls: [{ function: { name: 'add_task', arguments: { title: 'Lenient' } } }],
              },
            },
          ],
        }),
      () => answer({ content: 'Added.' }),
    ])
    const res = await user.chat({ message: 'Add lenient' })
    expect(res.status).toBe(200)
    expect(await storedTasks(user.id)).toEqual([{ number: 1, title: 'Lenient', completed: 0 }])
  })
})
