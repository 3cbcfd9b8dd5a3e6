/**
 * JSON bodies are UTF-8 (RFC 8259 section 8.1). Decoding anything else leniently would turn each
 * unreadable byte into U+FFFD and store it as if the client had sent it, so a JSON body declared
 * in another charset is a 415 and bytes that are not UTF-8 are a 400. A leading byte order mark is
 * ignored, as RFC 8259 allows: it is not part of the text.
 */
import type { Context } from 'hono'
import { invalidRequest, Problem } from './problem'

// ignoreBOM: false means the decoder consumes a leading BOM rather than keeping it as text.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

// Content-Type parameters (RFC 9110 section 8.3.1): the platform has no parser for them.
const CHARSET = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i

/** The charset a Content-Type names, lower-cased; undefined when it names none. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = CHARSET.exec(contentType ?? '')
  return match ? (match[1] ?? match[2] ?? '').toLowerCase() : undefined
}

const notUtf8Charset = () =>
  new Problem(
    'unsupported-media-type',
    'The request body must be application/json in UTF-8; send charset=utf-8 or no charset.',
  )

/** The bytes as text, or undefined when they are not UTF-8. A leading byte order mark is dropped. */
export function decodeUtf8(bytes: ArrayBuffer): string | undefined {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * The request body as text: a 415 when its Content-Type names another charset than UTF-8, a 400
 * when its bytes are not UTF-8.
 */
export async function utf8Text(c: Context): Promise<string> {
  const charset = charsetOf(c.req.header('Content-Type'))
  if (charset !== undefined && charset !== 'utf-8') throw notUtf8Charset()
  const text = decodeUtf8(await c.req.arrayBuffer())
  if (text === undefined) throw invalidRequest('The request body is not valid UTF-8.')
  return text
}
