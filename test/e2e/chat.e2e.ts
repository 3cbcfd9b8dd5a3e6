/**
 * What docs/chat.md promises for a local model: `npm run dev` with CHAT_API_BASE_URL pointing at an
 * OpenAI-compatible server on loopback (plain http:// is allowed there), and the assistant manages
 * the user's tasks over real HTTP, as JSON and as server-sent events. The model here is a small
 * scripted server in this process, speaking Chat Completions as Ollama and llama.cpp do.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devToken } from '../../scripts/dev-server.mjs'
import { relayTo, type SharedDev, shared, sharedDev } from './shared'

interface ModelRequest {
  authorization: string | undefined
  body: {
    model: string
    stream?: boolean
    messages: { role: string; content: string | null }[]
    tools: { function: { name: string } }[]
  }
}

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * The model: a user message asks for a tool call of add_task with its text; a tool result is
 * answered with text. Streams when asked to, as OpenAI's API does.
 */
function modelServer(received: ModelRequest[]): Server {
  return createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end()
      return
    }
    const body = JSON.parse(await readBody(req)) as ModelRequest['body']
    received.push({ authorization: req.headers.authorization, body })
    const last = body.messages.at(-1)!
    const message =
      last.role === 'user'
        ? {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'add_task', arguments: JSON.stringify({ title: last.content }) },
              },
            ],
          }
        : { role: 'assistant', content: `Added: ${JSON.parse(last.content!).title}` }
    if (!body.stream) {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message }] }))
      return
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream' })
    const delta = message.content
      ? { content: message.content }
      : { tool_calls: message.tool_calls!.map((call, index) => ({ index, ...call })) }
    res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta }] })}\n\n`)
    res.end('data: [DONE]\n\n')
  })
}

describe('the assistant against npm run dev and a model on loopback', () => {
  // The shared server's CHAT_API_BASE_URL is the model relay (test/e2e/global-setup.ts), on
  // loopback over plain http://, with CHAT_MODEL 'local-model' and this CHAT_API_KEY.
  const { key } = shared.chat
  const received: ModelRequest[] = []
  const model = modelServer(received)
  let release: (() => Promise<void>) | undefined
  let dev: SharedDev | undefined
  let token = ''

  beforeAll(async () => {
    await new Promise<void>((resolve) => model.listen(0, '127.0.0.1', resolve))
    release = await relayTo('model', (model.address() as AddressInfo).port)
    dev = await sharedDev()
    token = devToken('chat-user', shared.secret)
  })

  afterAll(async () => {
    await release?.()
    model.closeAllConnections()
    await new Promise<void>((resolve) => model.close(() => resolve()))
  })

  const chat = (body: unknown, accept = 'application/json') =>
    fetch(`${dev!.url}/chat`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: accept },
      body: JSON.stringify(body),
    })

  it('adds a task through the model and keeps the conversation', async () => {
    const res = await chat({ message: 'Buy bread', timeZone: 'Europe/Paris' })
    expect(res.status).toBe(200)
    const reply = (await res.json()) as { conversationId: number; response: string; toolCalls: { name: string }[] }
    expect(reply).toMatchObject({ conversationId: 1, response: 'Added: Buy bread', toolCalls: [{ name: 'add_task' }] })
    expect(received[0]!.authorization).toBe(`Bearer ${key}`)
    expect(received[0]!.body.model).toBe('local-model')
    expect(received[0]!.body.messages[0]!.content).toContain('Europe/Paris')
    expect(received[0]!.body.tools.map((t) => t.function.name)).toContain('add_task')

    const tasks = (await (
      await fetch(`${dev!.url}/tasks`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as { items: { title: string }[] }
    expect(tasks.items.map((t) => t.title)).toEqual(['Buy bread'])
    const conversation = (await (
      await fetch(`${dev!.url}/conversations/1`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as { messages: { role: string; content: string }[] }
    expect(conversation.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'Buy bread'],
      ['assistant', 'Added: Buy bread'],
    ])
  })

  it('answers as server-sent events, the model streaming too', async () => {
    const res = await chat({ conversationId: 1, message: 'Walk the dog' }, 'text/event-stream')
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toBe('text/event-stream')
    const text = await res.text()
    const events = [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])
    expect(events).toEqual(['tool_call', 'delta', 'done'])
    const done = JSON.parse(/event: done\ndata: (.*)/.exec(text)![1]!) as { conversationId: number; response: string }
    expect(done).toMatchObject({ conversationId: 1, response: 'Added: Walk the dog' })
    expect(received.at(-1)!.body.stream).toBe(true)
    // The second turn was sent the first one.
    expect(received.at(-2)!.body.messages.map((m) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
    ])
  })
})
