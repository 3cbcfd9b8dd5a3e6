/**
 * A scripted OpenAI-compatible model for the chat tests: `fetch` to MODEL_URL is answered, in
 * order, by the steps a test gives (an assistant message, or a function making any Response), and
 * every request the worker sent is recorded. Requests anywhere else go out as they were.
 */
import { env } from 'cloudflare:workers'
import { vi } from 'vitest'
import type { ModelMessage } from '../../src/chat/model'
import { request, type SignedIn, signIn } from '../helpers'

export const MODEL_URL = 'https://model.test/v1'
export const API_KEY = 'sk-test-0123456789-secret'

/** The bindings that turn chat on, pointed at the scripted model. One object: one parsed configuration. */
export const chatOn = {
  CHAT_API_BASE_URL: MODEL_URL,
  CHAT_MODEL: 'scripted-model',
  CHAT_API_KEY: API_KEY,
  CHAT_MAX_MODEL_CALLS: '5',
  CHAT_TIMEOUT_SECONDS: '30',
} as Partial<Env>

/** What the model answers: its text and the tools it calls, each as [name, arguments]. */
export interface Said {
  content?: string | null
  tools?: [name: string, args: unknown][]
}

export type Step = Said | ((body: ModelRequestBody, signal: AbortSignal | null) => Response | Promise<Response>)

export interface ModelRequestBody {
  model: string
  messages: ModelMessage[]
  tools?: { type: 'function'; function: { name: string; description: string; parameters: Record<string, unknown> } }[]
  stream?: boolean
}

export const say = (content: string): Said => ({ content })
export const call = (...tools: [name: string, args: unknown][]): Said => ({ content: null, tools })

/** Tool calls with the arguments as the model wrote them, any text: malformed JSON, too long, anything. */
export const callRaw =
  (name: string, text: string): Step =>
  () =>
    completion({
      choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [toolCall(0, name, text)] } }],
    })

const toolCall = (index: number, name: string, args: string) => ({
  id: `call_${crypto.randomUUID().slice(0, 8)}_${index}`,
  type: 'function',
  function: { name, arguments: args },
})

const jsonArgs = (args: unknown) => (typeof args === 'string' ? args : JSON.stringify(args))

export const completion = (body: unknown, init: ResponseInit = {}) =>
  new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' }, ...init })

/** A Chat Completions answer with this message. */
export const answer = (said: Said) =>
  completion({
    id: 'chatcmpl-test',
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: said.content ?? null,
          ...(said.tools && { tool_calls: said.tools.map(([name, args], i) => toolCall(i, name, jsonArgs(args))) }),
        },
        finish_reason: said.tools ? 'tool_calls' : 'stop',
      },
    ],
  })

/** The same answer streamed: the text in `pieces`, each tool call's arguments in two fragments. */
export function streamed(said: Said, pieces = [said.content ?? '']) {
  const chunks: unknown[] = []
  for (const piece of pieces) if (piece) chunks.push({ choices: [{ index: 0, delta: { content: piece } }] })
  for (const [index, [name, args]] of (said.tools ?? []).entries()) {
    const text = jsonArgs(args)
    const half = Math.floor(text.length / 2)
    const { id } = toolCall(index, name, '')
    chunks.push({
      choices: [
        {
          index: 0,
          delta: { tool_calls: [{ index, id, type: 'function', function: { name, arguments: text.slice(0, half) } }] },
        },
      ],
    })
    chunks.push({
      choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: text.slice(half) } }] } }],
    })
  }
  const text = `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`
  return new Response(text, { headers: { 'Content-Type': 'text/event-stream' } })
}

const realFetch = globalThis.fetch

export interface ScriptedModel {
  /** What the worker sent the model, in order. */
  requests: { headers: Headers; body: ModelRequestBody }[]
  /** Steps not yet used. */
  left: () => number
}

/**
 * Answers the worker's model calls with `steps`, in order; a call past the last is answered 500, so
 * that a test that scripted too few sees it. With `stream`, each message step answers as a stream
 * when the worker asked for one.
 */
export function scriptModel(steps: Step[]): ScriptedModel {
  const requests: ScriptedModel['requests'] = []
  const queue = [...steps]
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const req = new Request(input, init)
    if (!req.url.startsWith(`${MODEL_URL}/`)) return realFetch(req)
    const body = (await req.json()) as ModelRequestBody
    requests.push({ headers: req.headers, body })
    const step = queue.shift()
    if (step === undefined) return new Response('not scripted', { status: 500 })
    if (typeof step === 'function') return step(body, init?.signal ?? null)
    return body.stream ? streamed(step) : answer(step)
  })
  return { requests, left: () => queue.length }
}

/** A user, and their chat requests with chat on (plus `extra` bindings, one object per test). */
export async function chatter(extra?: Partial<Env>) {
  const user = await signIn()
  const bindings = extra ? { ...chatOn, ...extra } : chatOn
  return {
    ...user,
    env: bindings,
    chat: (body: unknown, headers?: Record<string, string>) =>
      request('/chat', { method: 'POST', token: user.token, body, env: bindings, ...(headers && { headers }) }),
    api: (path: string, options: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
      request(path, { ...options, token: user.token, env: bindings }),
  }
}
export type Chatter = Awaited<ReturnType<typeof chatter>> & SignedIn

/** The user's stored messages, straight from D1. */
export const storedMessages = (userId: string) =>
  env.DB.prepare(
    'SELECT conversation, seq, role, content, tool_calls FROM chat_messages WHERE user_id = ?1 ORDER BY conversation, seq',
  )
    .bind(userId)
    .all<{ conversation: number; seq: number; role: string; content: string; tool_calls: string }>()
    .then((r) => r.results.map((m) => ({ ...m, tool_calls: JSON.parse(m.tool_calls) as unknown[] })))

/** The user's tasks, straight from D1. */
export const storedTasks = (userId: string) =>
  env.DB.prepare('SELECT number, title, completed FROM tasks WHERE user_id = ?1 ORDER BY number')
    .bind(userId)
    .all<{ number: number; title: string; completed: number }>()
    .then((r) => r.results)
