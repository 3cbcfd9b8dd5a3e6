/**
 * The task tools as the model sees them, and running one call the model asked for. The tools
 * themselves (names, arguments, results) are the family's, the same as /mcp's, run through the
 * task service for the signed-in user only: a ToolRunner, injected, holds that user.
 *
 * Everything the model sends is checked here before a tool runs: the name, the size and JSON of
 * the arguments, and that they name no user. Any refusal is the call's result, for the model to
 * read and correct; it is never an error of the request.
 */
import * as z from 'zod'
import type { ToolCallRecord } from '../conversations/service'
import type { ToolResult } from '../tools/tasks'
import { CHAT_BOUNDS } from './bounds'
import type { ModelTool, ModelToolCall } from './model'

/** What the model is told of a tool: its name, what it does, and the zod schema of its arguments. */
export interface ToolDefinition {
  name: string
  description: string
  inputSchema: z.ZodType
}

/**
 * Runs the tools for one user, who is fixed when the runner is made (src/chat/runner.ts). `run`
 * validates the arguments by the tool's schema and answers an unknown name with a refusal.
 */
export interface ToolRunner {
  readonly tools: readonly ToolDefinition[]
  run(name: string, args: Record<string, unknown>): Promise<ToolResult>
}

/** Keys the model may try to name a user with. No tool takes one. */
const OWNER_KEYS = ['user_id', 'userId']

const cache = new WeakMap<readonly ToolDefinition[], ModelTool[]>()

/** The tools in Chat Completions' form: JSON Schema for the arguments, without any user field. */
export function modelTools(tools: readonly ToolDefinition[]): ModelTool[] {
  let described = cache.get(tools)
  if (!described) {
    described = tools.map(({ name, description, inputSchema }) => {
      const { $schema: _, ...schema } = z.toJSONSchema(inputSchema, { io: 'input', unrepresentable: 'any' }) as Record<
        string,
        unknown
      >
      const properties = { ...(schema.properties as Record<string, unknown> | undefined) }
      for (const key of OWNER_KEYS) delete properties[key]
      const required = (schema.required as string[] | undefined)?.filter((key) => !OWNER_KEYS.includes(key))
      return {
        type: 'function' as const,
        function: {
          name,
          description,
          parameters: { ...schema, properties, ...(required && { required }) },
        },
      }
    })
    cache.set(tools, described)
  }
  return described
}

/** What a tool call reports: its result, and the text the model reads back. */
export interface ToolOutcome {
  record: ToolCallRecord
  /** The `role: "tool"` message's content: the result as JSON, or a note when it is too long. */
  content: string
}

const MAX_NAME_CHARS = 64

/** The model's tool name as reported back: cut, since an unknown one is the model's text. */
const reportedName = (name: string) => [...name].slice(0, MAX_NAME_CHARS).join('')

const refused = (name: string, args: unknown, message: string): ToolOutcome => ({
  record: { name: reportedName(name), arguments: args, result: { error: message } },
  content: JSON.stringify({ error: message }),
})

/** The arguments as reported back: the object the model sent, or its text (cut) when it is not one. */
function argumentsOf(text: string): { value: unknown; object: Record<string, unknown> | undefined } {
  if (text.trim() === '') return { value: {}, object: {} }
  if (text.length <= CHAT_BOUNDS.argumentChars) {
    try {
      const value: unknown = JSON.parse(text)
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        return { value, object: value as Record<string, unknown> }
      }
    } catch {
      // Reported as the text it is.
    }
  }
  return { value: [...text].slice(0, 1000).join(''), object: undefined }
}

/**
 * Runs one tool call of the model's, for the runner's user. Never throws for anything the model
 * sent: an unknown tool, bad arguments, a user id, a refusal of the task service are each the call's
 * result. Whatever else fails (the database) is the caller's to handle.
 */
export async function runToolCall(runner: ToolRunner, call: ModelToolCall): Promise<ToolOutcome> {
  const { name } = call.function
  const text = call.function.arguments
  const { value, object } = argumentsOf(text)
  if (!runner.tools.some((tool) => tool.name === name)) {
    const names = runner.tools.map((tool) => tool.name).join(', ')
    return refused(name, value, `There is no tool named "${reportedName(name)}"; the tools are ${names}.`)
  }
  if (text.length > CHAT_BOUNDS.argumentChars) {
    return refused(name, value, `The arguments are over ${CHAT_BOUNDS.argumentChars} characters; nothing was done.`)
  }
  if (object === undefined) {
    return refused(name, value, 'The arguments must be a JSON object; nothing was done.')
  }
  if (OWNER_KEYS.some((key) => key in object)) {
    return refused(
      name,
      value,
      'The tools take no user id: they always act for the signed-in user, and no one else. Call it again without user_id.',
    )
  }
  const result = await runner.run(name, object)
  if (result.isError) return refused(name, value, result.message)
  const content = JSON.stringify(result.structured)
  return {
    record: { name, arguments: value, result: result.structured },
    content:
      content.length <= CHAT_BOUNDS.toolResultChars
        ? content
        : JSON.stringify({
            error: `The result is ${content.length} characters, more than the ${CHAT_BOUNDS.toolResultChars} this chat reads; ask for fewer tasks (a smaller limit, or filters).`,
          }),
  }
}
