/**
 * JSON bodies are UTF-8 (RFC 8259 section 8.1): a body in another charset, or bytes that are not
 * UTF-8, is refused and changes nothing, so no task ever holds a U+FFFD its client did not send.
 */
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { expectProblem, type SignedIn, signIn, storedTask } from './helpers'

let user: SignedIn
beforeEach(async () => {
  user = await signIn()
})

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((part) => (typeof part === 'string' ? [...new TextEncoder().encode(part)] : part)))

/** A body of raw bytes: the helper would otherwise send a string as UTF-8. */
const raw = (data: Uint8Array) =>
  new ReadableStream({
    start(controller) {
      controller.enqueue(data)
      controller.close()
    },
  })

const send = (method: string, path: string, body: Uint8Array, contentType = 'application/json') =>
  user.request(path, { method, body: raw(body), headers: { 'Content-Type': contentType } })

const storedCount = async () =>
  (await env.DB.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1').bind(user.id).first<{ n: number }>())!.n

// "café" with its é as ISO-8859-1 (0xE9), a lone continuation byte, an overlong "/", a UTF-8-encoded
// surrogate, and a sequence cut short: none is UTF-8, and each decodes leniently to U+FFFD.
const NOT_UTF8 = [[0xe9], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]]

describe('the charset of a JSON body', () => {
  it('answers 415 and stores nothing for a charset other than UTF-8', async () => {
    for (const charset of ['iso-8859-1', 'latin1', 'windows-1252', 'utf-16', 'us-ascii', '"utf-16le"', 'bogus']) {
      const res = await send(
        'POST',
        '/tasks',
        bytes('{"title":"caf', [0xe9], '"}'),
        `application/json; charset=${charset}`,
      )
      const problem = await expectProblem(res, 415)
      expect(problem.type).toBe('/problems/unsupported-media-type')
      expect(problem.detail).toMatch(/UTF-8/)
    }
    expect(await storedCount()).toBe(0)
  })

  it('accepts charset=utf-8 in any case, quoted or not, and no charset at all', async () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'application/json;charset=UTF-8',
      'application/json; charset="utf-8"',
    ]) {
      const res = await send('POST', '/tasks', bytes('{"title":"café"}'), type)
      expect(res.status, type).toBe(201)
      expect((await res.json<{ title: string }>()).title).toBe('café')
    }
  })

  it('answers 415 on PUT and PATCH too, and leaves the task as it was', async () => {
    const task = await user.createTask({ title: 'before' })
    for (const method of ['PUT', 'PATCH']) {
      const res = await send(
        method,
        `/tasks/${task.id}`,
        bytes('{"title":"after"}'),
        'application/json; charset=latin1',
      )
      await expectProblem(res, 415)
    }
    expect(await storedTask(task.id)).toMatchObject({ title: 'before', version: 1 })
  })
})

describe('bytes that are not UTF-8', () => {
  it('answers 400 saying so, and stores nothing', async () => {
    for (const bad of NOT_UTF8) {
      const problem = await expectProblem(await send('POST', '/tasks', bytes('{"title":"caf', bad, '"}')), 400)
      expect(problem.type).toBe('/problems/invalid-request')
      expect(problem.detail, JSON.stringify(bad)).toMatch(/UTF-8/)
    }
    expect(await storedCount()).toBe(0)
  })

  it('answers 400 on PUT and PATCH, and leaves the task as it was', async () => {
    const task = await user.createTask({ title: 'before' })
    for (const method of ['PUT', 'PATCH']) {
      await expectProblem(await send(method, `/tasks/${task.id}`, bytes('{"title":"caf', [0xe9], '"}')), 400)
    }
    expect(await storedTask(task.id)).toMatchObject({ title: 'before', version: 1 })
  })

  it('refuses bytes that are not UTF-8 outside strings too', async () => {
    const problem = await expectProblem(await send('POST', '/tasks', bytes('{"title":"x"', [0xff], '}')), 400)
    expect(problem.detail).toMatch(/UTF-8/)
    expect(await storedCount()).toBe(0)
  })
})

describe('what a client does send', () => {
  it('stores a U+FFFD the client sent, as bytes or escaped', async () => {
    for (const body of [bytes('{"title":"a\u{FFFD}b"}'), bytes('{"title":"a\\ufffdb"}')]) {
      const res = await send('POST', '/tasks', body)
      expect(res.status).toBe(201)
      const { id } = await res.json<{ id: string }>()
      expect((await storedTask(id))!.title).toBe('a\u{FFFD}b')
    }
  })

  it('ignores a leading UTF-8 byte order mark, which is not stored', async () => {
    const res = await send('POST', '/tasks', bytes([0xef, 0xbb, 0xbf], '{"title":"with a BOM"}'))
    expect(res.status).toBe(201)
    const { id } = await res.json<{ id: string }>()
    expect((await storedTask(id))!.title).toBe('with a BOM')
  })

  it('stores four-byte characters exactly', async () => {
    const res = await send('POST', '/tasks', bytes('{"title":"\u{1F600} \u{10FFFF}"}'))
    expect(res.status).toBe(201)
    const { id } = await res.json<{ id: string }>()
    expect((await storedTask(id))!.title).toBe('\u{1F600} \u{10FFFF}')
  })
})
