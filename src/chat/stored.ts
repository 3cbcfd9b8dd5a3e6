/**
 * What a turn leaves in D1, within the bounds of migrations/0013: text as SQLite can keep it, and the
 * turn's tool calls in at most CHAT_BOUNDS.storedToolCallsChars characters of JSON.
 */

import type { ToolCallRecord } from '../conversations/service'
import { CHAT_BOUNDS } from './bounds'

/** Code points, as SQLite's length() and the CHECKs count them. */
export const codePoints = (text: string) => [...text].length

/**
 * `text` as stored: well-formed (a lone surrogate would come back as U+FFFD), without NUL (SQLite's
 * length() stops at one), and at most `max` code points, a longer one cut with an ellipsis.
 */
export function storable(text: string, max: number): string {
  const clean = text.toWellFormed().replaceAll('\u0000', '')
  const points = [...clean]
  return points.length <= max ? clean : `${points.slice(0, max - 1).join('')}…`
}

/** A conversation's title: its first message, on one line, cut to fit. */
export const titleOf = (message: string) => storable(message.replace(/\s+/g, ' ').trim(), CHAT_BOUNDS.titleChars)

const ARGUMENTS_KEPT_CHARS = 2000

/**
 * The turn's tool calls as a JSON array of at most `budget` characters (code points). Each call is
 * kept whole while it fits; past that its result, then its arguments, are replaced by a note of
 * their size, so the record still says which tools ran, in order.
 */
export function storedToolCalls(
  calls: readonly ToolCallRecord[],
  budget: number = CHAT_BOUNDS.storedToolCallsChars,
): string {
  const omitted = (json: string) => ({ omitted: `${codePoints(json)} characters, too long to keep` })
  const kept: string[] = []
  // Room for the brackets and commas, and for a minimal entry of every call still to come.
  const minimal = (call: ToolCallRecord) => JSON.stringify({ name: call.name, arguments: null, result: null })
  let used = 2 + calls.reduce((sum, call) => sum + codePoints(minimal(call)) + 1, 0)
  for (const call of calls) {
    used -= codePoints(minimal(call)) + 1
    const args = JSON.stringify(call.arguments ?? null)
    const result = JSON.stringify(call.result ?? null)
    const candidates = [
      { name: call.name, arguments: call.arguments, result: call.result },
      {
        name: call.name,
        arguments: codePoints(args) <= ARGUMENTS_KEPT_CHARS ? call.arguments : omitted(args),
        result: omitted(result),
      },
      { name: call.name, arguments: null, result: null },
    ]
    const entry = candidates.map((c) => JSON.stringify(c)).find((json) => used + codePoints(json) + 1 <= budget)
    const chosen = entry ?? minimal(call)
    kept.push(chosen)
    used += codePoints(chosen) + 1
  }
  return `[${kept.join(',')}]`
}
