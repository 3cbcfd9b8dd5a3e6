/**
 * One call to an OpenAI-compatible Chat Completions endpoint, with `fetch`: the request, the answer
 * read whole or as it streams (`stream: true`), and every way it can fail as a ModelFault. What the
 * model answers is validated as strictly as a request body from a stranger: the shape, the size,
 * the time it takes.
 */
import * as z from 'zod'
import { retryAfterSeconds } from '../retry-after'
import { CHAT_BOUNDS } from './bounds'
import type { ChatConfig } from './config'

export interface ModelToolCall {
  id: string
  type: 'function'
  function: { name: string; arguments: string }
}

export type ModelMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ModelToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string }

/** A tool as Chat Completions describes it: a function with a JSON Schema for its arguments. */
export interface ModelTool {
  type: 'function'
  function: { name: string; description: string; parameters: Record<string, unknown> }
}

export interface ModelReply {
  content: string
  toolCalls: ModelToolCall[]
}

export type FaultKind =
  /** No answer: DNS, connection, TLS. 502. */
  | 'unreachable'
  /** No whole answer within the timeout. 504. */
  | 'timeout'
  /** 429 or 503: over its quota or overloaded. 503, with its Retry-After. */
  | 'busy'
  /** Any other non-2xx status (a bad key, an unknown model). 502. */
  | 'refused'
  /** A 2xx that is not a Chat Completions answer, or too large. 502. */
  | 'malformed'

/** The model could not give an answer; `detail` is for the log, never for the client. */
export class ModelFault extends Error {
  constructor(
    readonly kind: FaultKind,
    readonly detail: string,
    readonly status?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(detail)
  }
}

/** The model's Retry-After, passed on to the client, is held within 1 s and an hour. */
const RETRY_AFTER_BOUNDS = { min: 1, max: 3600 }

// Some servers send arguments as an object, or leave out the id or type; all are read the same way.
const functionCall = z.object({
  name: z.string().min(1),
  arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
})

const toolCall = z.object({
  id: z.string().min(1).max(256).optional(),
  type: z.literal('function').optional(),
  function: functionCall,
})

const completion = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullish(),
          tool_calls: z.array(toolCall).nullish(),
        }),
      }),
    )
    .min(1),
})

const chunk = z.object({
  choices: z
    .array(
      z.object({
        delta: z
          .object({
            content: z.string().nullish(),
            tool_calls: z
              .array(
                z.object({
                  index: z.int().min(0).max(63),
                  id: z.string().min(1).max(256).nullish(),
                  type: z.literal('function').nullish(),
                  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
                }),
              )
              .nullish(),
          })
          .nullish(),
      }),
    )
    .nullish(),
})

const argumentsText = (value: z.output<typeof functionCall>['arguments']) =>
  value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value)

const withIds = (calls: { id?: string | undefined; name: string; arguments: string }[]): ModelToolCall[] =>
  calls.map((call, index) => ({
    id: call.id ?? `call_${index + 1}`,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }))

/** The body as text, refusing more than `max` bytes without reading them. */
async function boundedText(response: Response, max: number): Promise<string> {
  const reader = response.body?.getReader()
  if (!reader) return ''
  const decoder = new TextDecoder()
  let text = ''
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    bytes += value.byteLength
    if (bytes > max) {
      await reader.cancel()
      throw new ModelFault('malformed', `the answer is over ${max} bytes`)
    }
    text += decoder.decode(value, { stream: true })
  }
}

function parseCompletion(text: string): ModelReply {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ModelFault('malformed', 'the answer is not JSON')
  }
  const parsed = completion.safeParse(value)
  if (!parsed.success) throw new ModelFault('malformed', 'the answer is not a chat completion')
  const { message } = parsed.data.choices[0]!
  return {
    content: message.content ?? '',
    toolCalls: withIds(
      (message.tool_calls ?? []).map((call) => ({
        id: call.id,
        name: call.function.name,
        arguments: argumentsText(call.function.arguments),
      })),
    ),
  }
}

/**
 * Reads a streamed answer (server-sent events of `chat.completion.chunk`s), handing each piece of
 * text to `onDelta` as it arrives and assembling the tool calls from their fragments.
 */
async function readStream(response: Response, onDelta: (text: string) => Promise<void>): Promise<ModelReply> {
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader()
  if (!reader) throw new ModelFault('malformed', 'the streamed answer has no body')
  let content = ''
  const calls: { id?: string; name: string; arguments: string }[] = []
  let buffered = ''
  let bytes = 0
  let finished = false
  const line = async (text: string) => {
    if (!text.startsWith('data:')) return
    const data = text.slice(5).trim()
    if (data === '[DONE]') {
      finished = true
      return
    }
    let value: unknown
    try {
      value = JSON.parse(data)
    } catch {
      throw new ModelFault('malformed', 'a streamed chunk is not JSON')
    }
    const parsed = chunk.safeParse(value)
    if (!parsed.success) throw new ModelFault('malformed', 'a streamed chunk is not a chat completion chunk')
    const delta = parsed.data.choices?.[0]?.delta
    if (!delta) return
    if (delta.content) {
      content += delta.content
      await onDelta(delta.content)
    }
    for (const part of delta.tool_calls ?? []) {
      const call = calls[part.index] ?? { name: '', arguments: '' }
      calls[part.index] = call
      if (part.id) call.id = part.id
      if (part.function?.name) call.name += part.function.name
      if (part.function?.arguments) call.arguments += part.function.arguments
    }
  }
  while (!finished) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.length
    if (bytes > CHAT_BOUNDS.modelResponseBytes) {
      await reader.cancel()
      throw new ModelFault('malformed', `the streamed answer is over ${CHAT_BOUNDS.modelResponseBytes} bytes`)
    }
    buffered += value
    const lines = buffered.split(/\r\n|\r|\n/)
    buffered = lines.pop() ?? ''
    for (const text of lines) {
      await line(text)
      if (finished) break
    }
  }
  if (!finished) await line(buffered)
  if (finished) await reader.cancel().catch(() => {})
  // A sparse array (a fragment for index 2 but none for 1) or a call without a name is not an answer.
  if (calls.some((call) => call === undefined || call.name === '') || calls.length !== Object.keys(calls).length) {
    throw new ModelFault('malformed', 'a streamed tool call has no name')
  }
  return { content, toolCalls: withIds(calls) }
}

export interface ModelRequest {
  messages: ModelMessage[]
  tools: ModelTool[]
  /** Stream the answer, handing each piece of text here as it arrives. */
  onDelta?: ((text: string) => Promise<void>) | undefined
}

/**
 * One model call. Everything (connecting, the status, reading the whole answer) happens within the
 * configured timeout, after which the call is abandoned and is a `timeout` fault.
 */
export async function callModel(config: ChatConfig, { messages, tools, onDelta }: ModelRequest): Promise<ModelReply> {
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new ModelFault('timeout', `no answer within ${config.timeoutMs} ms`))
    }, config.timeoutMs)
  })
  const call = async (): Promise<ModelReply> => {
    let response: Response
    try {
      response = await fetch(config.endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: onDelta ? 'text/event-stream, application/json' : 'application/json',
          ...(config.apiKey !== undefined && { Authorization: `Bearer ${config.apiKey}` }),
        },
        body: JSON.stringify({
          model: config.model,
          messages,
          ...(tools.length > 0 && { tools }),
          ...(onDelta && { stream: true }),
        }),
        signal: controller.signal,
        redirect: 'manual',
      })
    } catch (error) {
      throw new ModelFault('unreachable', String(error))
    }
    if (response.status === 429 || response.status === 503) {
      await response.body?.cancel()
      throw new ModelFault(
        'busy',
        `status ${response.status}`,
        response.status,
        retryAfterSeconds(response.headers.get('Retry-After'), RETRY_AFTER_BOUNDS),
      )
    }
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel()
      throw new ModelFault('refused', `status ${response.status}`, response.status)
    }
    // A server that does not stream answers with the whole completion as JSON: read it either way.
    const streamed = onDelta && (response.headers.get('Content-Type') ?? '').includes('text/event-stream')
    if (streamed) return readStream(response, onDelta)
    const reply = parseCompletion(await boundedText(response, CHAT_BOUNDS.modelResponseBytes))
    if (onDelta && reply.content) await onDelta(reply.content)
    return reply
  }
  try {
    return await Promise.race([call(), deadline])
  } catch (error) {
    if (error instanceof ModelFault) throw error
    // Reading the body can fail mid-way, by the abort or by the connection.
    throw controller.signal.aborted
      ? new ModelFault('timeout', `no answer within ${config.timeoutMs} ms`)
      : new ModelFault('unreachable', String(error))
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}
