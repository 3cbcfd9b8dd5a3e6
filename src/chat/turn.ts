/**
 * A chat turn over HTTP, for both doors: the middleware in front of it (chat on, its own rate limit,
 * an access token's scopes), storing the user's message before the model is called, running the
 * loop (src/chat/loop.ts), storing the answer and the tool calls after, and answering with JSON or,
 * for `Accept: text/event-stream`, as server-sent events.
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { requireCaller, requireScopes, SCOPES } from '../auth'
import { conversationService, type ToolCallRecord } from '../conversations/service'
import type { AppEnv } from '../env'
import { annotate } from '../openapi/annotate'
import { notFound, type Problem, problemBody, problemFor, serverMisconfigured, tooManyRequests } from '../problem'
import { allowed, RATE_LIMIT_PERIOD_SECONDS, rateLimitWith } from '../ratelimit'
import { json, respond } from '../respond'
import { CHAT_BOUNDS } from './bounds'
import { type ChatConfig, chatSetting } from './config'
import { runTurn, type TurnEvents, TurnFault } from './loop'
import type { ModelMessage } from './model'
import { chatDisabled, conversationFull, conversationLimit, faultNote, faultProblem } from './problems'
import { historyMessages, systemPrompt } from './prompt'
import type { TurnInput } from './requests'
import { storable, storedToolCalls, titleOf } from './stored'
import type { ToolRunner } from './tools'
import type { Wire } from './wire'

/**
 * Authentication and the request limit, as every route has them; an access token then needs both
 * tasks:read and tasks:write, since a turn's tools may read and write whatever its method.
 */
export const chatAccess = annotate(rateLimitWith(requireCaller, requireScopes(SCOPES.read, SCOPES.write)), {
  authenticates: true,
  problems: ['unauthorized', 'forbidden', 'rate-limited', 'server-misconfigured', 'service-unavailable'],
})

/**
 * Before any body is read: 503 while chat is off (nothing is stored), 500 when its configuration is
 * unusable (fail closed), then the user's turns on CHAT_RATE_LIMITER.
 */
export const chatOn = annotate(
  createMiddleware<AppEnv>(async (c, next) => {
    const setting = chatSetting(c.env)
    if ('off' in setting) throw chatDisabled()
    if ('error' in setting) throw serverMisconfigured('The server is not configured for chat.')
    if (!(await allowed(setting.config.limiter, `user:${c.get('user').id}`))) {
      throw tooManyRequests(RATE_LIMIT_PERIOD_SECONDS)
    }
    await next()
  }),
  { problems: ['chat-disabled', 'rate-limited', 'server-misconfigured'] },
)

/** Whether the client asked for server-sent events. */
const wantsEvents = (c: Context<AppEnv>) =>
  (c.req.header('Accept') ?? '')
    .split(',')
    .some((range) => range.split(';')[0]!.trim().toLowerCase() === 'text/event-stream')

const configOf = (c: Context<AppEnv>): ChatConfig => {
  const setting = chatSetting(c.env)
  // chatOn ran first; this only narrows the type.
  if (!('config' in setting)) throw chatDisabled()
  return setting.config
}

/** The conversation the turn is in, with the user's message stored in it, and what came before. */
async function begin(c: Context<AppEnv>, input: TurnInput, now: string) {
  const conversations = conversationService(c)
  const { message } = input
  if (input.number === undefined) {
    const started = await conversations.start({ title: titleOf(message), message, now })
    if (started.kind === 'limit') throw conversationLimit()
    return { number: started.number, history: [] }
  }
  const continued = await conversations.continue(input.number, { message, now })
  switch (continued.kind) {
    case 'ok':
      return { number: input.number, history: continued.history }
    case 'not-found':
      throw notFound('You have no conversation with this id.')
    case 'full':
      throw conversationFull()
    default:
      return continued satisfies never
  }
}

/** Keeps the turn's answer (cut to its bound) and tool calls; the answer as kept. */
async function finish(c: Context<AppEnv>, number: number, text: string, toolCalls: ToolCallRecord[]) {
  const content = storable(text, CHAT_BOUNDS.answerChars)
  await conversationService(c).keepAnswer(number, {
    content,
    toolCalls: storedToolCalls(toolCalls),
    now: new Date().toISOString(),
  })
  return content
}

/** A failed turn: what it did is kept with a note, and the problem says so. */
async function failed(c: Context<AppEnv>, config: ChatConfig, number: number, error: TurnFault, wire: Wire) {
  const { fault } = error
  // A refusal or an unreadable answer is most likely our configuration (key, model name, URL).
  const ours = fault.kind === 'refused' || fault.kind === 'malformed'
  ;(ours ? console.error : console.warn)(
    JSON.stringify({
      level: ours ? 'error' : 'warn',
      message: 'chat model failed',
      requestId: c.get('requestId'),
      kind: fault.kind,
      ...(fault.status !== undefined && { status: fault.status }),
      detail: fault.detail,
      model: config.model,
    }),
  )
  await finish(c, number, [error.response, faultNote(fault)].filter(Boolean).join('\n\n'), error.toolCalls)
  return faultProblem(fault, config.timeoutMs / 1000, wire.fault(number, error.toolCalls))
}

/**
 * The turn: the user's message is stored before the model is called, the answer and tool calls
 * after, even when the model fails mid-way, so nothing the tools did is lost from the conversation.
 */
export async function chatTurn(
  c: Context<AppEnv>,
  input: TurnInput,
  wire: Wire,
  runner: ToolRunner,
): Promise<Response> {
  const config = configOf(c)
  const now = new Date()
  const { number, history } = await begin(c, input, now.toISOString())
  const messages: ModelMessage[] = [
    { role: 'system', content: systemPrompt(now, input.timeZone) },
    ...historyMessages(history),
    { role: 'user', content: input.message },
  ]
  if (wantsEvents(c)) return streamTurn(c, config, number, messages, wire, runner)
  try {
    const result = await runTurn(config, runner, messages)
    const response = await finish(c, number, result.response, result.toolCalls)
    return json(c, wire.reply(number, response, result.toolCalls), 200)
  } catch (error) {
    if (error instanceof TurnFault) throw await failed(c, config, number, error, wire)
    throw error
  }
}

/**
 * The same turn as server-sent events: `tool_call` as each tool call finishes, `delta` for each
 * piece of the answer's text, then `done` with the JSON the turn would have answered, or `error`
 * with the problem it would have answered. The status (200) is sent once the message is stored.
 */
function streamTurn(
  c: Context<AppEnv>,
  config: ChatConfig,
  number: number,
  messages: ModelMessage[],
  wire: Wire,
  runner: ToolRunner,
): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
  const writer = writable.getWriter()
  const encoder = new TextEncoder()
  // Not awaited: a slow reader must not hold the turn (or the model's stream) up. A client gone
  // makes writes fail, and the turn still runs to its end, so what it does is stored.
  const send = (event: string, data: unknown) => {
    writer.write(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)).catch(() => {})
  }
  const events: TurnEvents = {
    toolCall: async (call) => send('tool_call', call),
    delta: async (text) => send('delta', { text }),
  }
  const done = (async () => {
    try {
      const result = await runTurn(config, runner, messages, events)
      const response = await finish(c, number, result.response, result.toolCalls)
      send('done', wire.reply(number, response, result.toolCalls))
    } catch (error) {
      let problem: Problem
      try {
        problem = error instanceof TurnFault ? await failed(c, config, number, error, wire) : problemFor(c, error)
      } catch (storing) {
        problem = problemFor(c, storing)
      }
      send('error', problemBody(c, problem))
    } finally {
      // Not awaited either: closing waits for the reader to take every event.
      writer.close().catch(() => {})
    }
  })()
  try {
    c.executionCtx.waitUntil(done)
  } catch {
    // No execution context (a test calling app.fetch without one): the stream keeps the turn alive.
  }
  return respond(c, readable, 200, {}, 'text/event-stream')
}
