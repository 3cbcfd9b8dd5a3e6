/**
 * One turn of the assistant: the model is called with the conversation and the tools; while it
 * answers with tool calls, each is run for the user and its result sent back, and the model called
 * again, at most `maxModelCalls` times. The turn ends at an answer without tool calls, or at the cap.
 */

import type { ToolCallRecord } from '../conversations/service'
import { CHAT_BOUNDS } from './bounds'
import type { ChatConfig } from './config'
import { callModel, ModelFault, type ModelMessage } from './model'
import { modelTools, runToolCall, type ToolRunner } from './tools'

export interface TurnEvents {
  /** A tool call has run (or was refused); in the order the model made them. */
  toolCall?: (call: ToolCallRecord) => Promise<void>
  /** A piece of the answer's text, as the model streams it. Given, the model is asked to stream. */
  delta?: (text: string) => Promise<void>
}

export interface TurnResult {
  /** The assistant's text over the turn. */
  response: string
  toolCalls: ToolCallRecord[]
  /** The turn stopped at the cap on model calls, not at an answer. */
  capped: boolean
}

/** The model failed mid-turn; what the turn did before is kept with it. */
export class TurnFault extends Error {
  constructor(
    readonly fault: ModelFault,
    readonly toolCalls: ToolCallRecord[],
    readonly response: string,
  ) {
    super(fault.message)
  }
}

const notRun = (why: string) => ({
  error: `Not run: ${why}. Nothing was done; call it again in your next step if it is still needed.`,
})

/** The answer when the turn reaches its cap on model calls with tool calls still pending. */
export const cappedAnswer = (calls: number) =>
  `I stopped after ${calls} steps without finishing. The tool calls below are what I did; ask me to continue if there is more to do.`

/** Runs the turn; throws a TurnFault when the model fails, with what was done until then. */
export async function runTurn(
  config: ChatConfig,
  runner: ToolRunner,
  messages: ModelMessage[],
  events: TurnEvents = {},
): Promise<TurnResult> {
  const tools = modelTools(runner.tools)
  const toolCalls: ToolCallRecord[] = []
  const texts: string[] = []
  // Text from several model calls is joined by a blank line, in the stream as in `response`.
  const delta = events.delta
  const onDelta =
    delta &&
    (async (text: string) => {
      if (text === '') return
      if (texts.at(-1) === '' && texts.some(Boolean)) await delta('\n\n')
      texts[texts.length - 1] += text
      await delta(text)
    })
  for (let call = 1; call <= config.maxModelCalls; call++) {
    texts.push('')
    let reply: Awaited<ReturnType<typeof callModel>>
    try {
      reply = await callModel(config, { messages, tools, onDelta })
    } catch (error) {
      if (error instanceof ModelFault) throw new TurnFault(error, toolCalls, joined(texts))
      throw error
    }
    if (!onDelta) texts[texts.length - 1] = reply.content
    if (reply.toolCalls.length === 0) return { response: joined(texts), toolCalls, capped: false }
    messages.push({ role: 'assistant', content: reply.content || null, tool_calls: reply.toolCalls })
    for (const [index, toolCall] of reply.toolCalls.entries()) {
      let content: string
      if (index >= CHAT_BOUNDS.toolCallsPerResponse) {
        content = JSON.stringify(
          notRun(`at most ${CHAT_BOUNDS.toolCallsPerResponse} tool calls are run from one response`),
        )
      } else if (toolCalls.length >= CHAT_BOUNDS.toolCallsPerTurn) {
        content = JSON.stringify(notRun(`at most ${CHAT_BOUNDS.toolCallsPerTurn} tool calls are run in one turn`))
      } else {
        const outcome = await runToolCall(runner, toolCall)
        toolCalls.push(outcome.record)
        await events.toolCall?.(outcome.record)
        content = outcome.content
      }
      messages.push({ role: 'tool', tool_call_id: toolCall.id, content })
    }
  }
  const answer = cappedAnswer(config.maxModelCalls)
  texts.push('')
  if (onDelta) await onDelta(answer)
  else texts[texts.length - 1] = answer
  return { response: joined(texts), toolCalls, capped: true }
}

const joined = (texts: readonly string[]) =>
  texts
    .map((text) => text.trim())
    .filter(Boolean)
    .join('\n\n')
