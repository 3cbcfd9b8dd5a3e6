/**
 * A turn as server-sent events (`Accept: text/event-stream`): one `tool_call` event per tool call as
 * it finishes, the answer's text as `delta`s (streamed from the model, or whole from one that does
 * not stream), then `done` with the JSON the turn answers without events, or `error` with the problem.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { app } from '../../src/app'
import { BASE, expectProblem } from '../helpers'
import { answer, call, chatOn, chatter, say, scriptModel, storedMessages, streamed } from './model'

afterEach(() => vi.restoreAllMocks())

const EVENTS = { Accept: 'text/event-stream' }

/** The stream's events, in order, each with its data parsed. */
async function events(res: Response): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const text = await res.text()
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const lines = block.split('\n')
      const event = lines.find((l) => l.startsWith('event: '))!.slice(7)
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n')
      return { event, data: JSON.parse(data) as Record<string, unknown> }
    })
}

describe('POST /chat with Accept: text/event-stream', () => {
  it('streams each tool call, the deltas, then the same JSON as without events', async () => {
    const user = await chatter()
    const model = scriptModel([
      call(['add_task', { title: 'Streamed' }], ['list_tasks', {}]),
      (body) => streamedIf(body),
    ])
    const res = await user.chat({ message: 'Add streamed' }, EVENTS)
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toBe('text/event-stream')
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const got = await events(res)
    expect(got.map((e) => e.event)).toEqual(['tool_call', 'tool_call', 'delta', 'delta', 'delta', 'done'])
    expect(got[0]!.data).toMatchObject({ name: 'add_task', result: { status: 'created', title: 'Streamed' } })
    expect(got.filter((e) => e.event === 'delta').map((e) => e.data.text)).toEqual(['Added ', '"Streamed"', '.'])
    const done = got.at(-1)!.data
    expect(done).toEqual({
      conversationId: 1,
      response: 'Added "Streamed".',
      toolCalls: [got[0]!.data, got[1]!.data],
    })
    // The model was asked to stream; the tool calls came back assembled from their fragments.
    expect(model.requests.every((r) => r.body.stream === true)).toBe(true)
    const [, kept] = await storedMessages(user.id)
    expect(kept).toMatchObject({ role: 'assistant', content: 'Added "Streamed".' })
    expect(kept!.tool_calls).toEqual(done.toolCalls)
  })

  it('sends each event as it happens: a tool call before the model has answered again', async () => {
    const user = await chatter()
    let release: ((response: Response) => void) | undefined
    scriptModel([
      call(['add_task', { title: 'Early' }]),
      () =>
        new Promise<Response>((resolve) => {
          release = resolve
        }),
    ])
    // The worker's own fetch, without waiting for the turn: the response starts before it ends.
    const ctx = createExecutionContext()
    const res = await app.fetch(
      new Request(`${BASE}/chat`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${user.token}`, 'Content-Type': 'application/json', ...EVENTS },
        body: JSON.stringify({ message: 'Add early' }),
      }),
      { ...env, ...chatOn },
      ctx,
    )
    expect(res.status).toBe(200)
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    const first = await reader.read()
    expect(first.value).toMatch(/^event: tool_call\ndata: \{"name":"add_task"/)
    // The model's second call is waiting: only now is its answer released.
    await vi.waitFor(() => expect(release).toBeDefined())
    release!(streamed({ content: 'Added.' }))
    let rest = ''
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += chunk.value
    expect(rest).toContain('event: done')
    await waitOnExecutionContext(ctx)
  })

  it('sends the whole text as one delta when the model answers without streaming', async () => {
    const user = await chatter()
    scriptModel([() => answer({ content: 'Whole.' })])
    const got = await events(await user.chat({ message: 'hi' }, { Accept: 'application/json, text/event-stream' }))
    expect(got).toEqual([
      { event: 'delta', data: { text: 'Whole.' } },
      { event: 'done', data: { conversationId: 1, response: 'Whole.', toolCalls: [] } },
    ])
  })

  it('ends with an error event carrying the problem, the conversation and the tool calls run', async () => {
    const user = await chatter()
    scriptModel([
      call(['add_task', { title: 'Before the fault' }]),
      () => new Response('', { status: 429, headers: { 'Retry-After': '9' } }),
    ])
    const got = await events(await user.chat({ message: 'go' }, EVENTS))
    expect(got.map((e) => e.event)).toEqual(['tool_call', 'error'])
    expect(got[1]!.data).toMatchObject({
      type: '/problems/model-busy',
      status: 503,
      conversationId: 1,
      toolCalls: [{ name: 'add_task' }],
      requestId: expect.any(String),
    })
    expect((await storedMessages(user.id)).map((m) => m.role)).toEqual(['user', 'assistant'])
  })

  it('ends with an error event for a malformed stream', async () => {
    const user = await chatter()
    scriptModel([
      () =>
        new Response('data: {"choices":[{"delta":{"content":"par"}}]}\n\ndata: {not json\n\n', {
          headers: { 'Content-Type': 'text/event-stream' },
        }),
    ])
    const got = await events(await user.chat({ message: 'go' }, EVENTS))
    expect(got.map((e) => e.event)).toEqual(['delta', 'error'])
    expect(got[1]!.data).toMatchObject({ type: '/problems/model-failed', conversationId: 1 })
    // The text that came before the fault is kept with the note.
    expect((await storedMessages(user.id))[1]!.content).toBe('par\n\n(No answer: the model failed.)')
  })

  it('answers a refused request with a plain problem, not a stream', async () => {
    const user = await chatter()
    const res = await user.chat({ message: '' }, EVENTS)
    await expectProblem(res, 400)
    const missing = await user.chat({ conversationId: 7, message: 'hi' }, EVENTS)
    await expectProblem(missing, 404)
  })

  it('joins the text of several model calls with a blank line, in the stream as in the answer', async () => {
    const user = await chatter()
    scriptModel([{ content: 'Let me look.', tools: [['list_tasks', {}]] }, say('Nothing there.')])
    const got = await events(await user.chat({ message: 'anything?' }, EVENTS))
    const text = got
      .filter((e) => e.event === 'delta')
      .map((e) => e.data.text)
      .join('')
    expect(text).toBe('Let me look.\n\nNothing there.')
    expect(got.at(-1)!.data.response).toBe(text)
  })
})

/** The scripted model's stream for the last step above: it is asked to stream, so it does. */
function streamedIf(body: { stream?: boolean }) {
  expect(body.stream).toBe(true)
  return streamed({ content: 'Added "Streamed".' }, ['Added ', '"Streamed"', '.'])
}
