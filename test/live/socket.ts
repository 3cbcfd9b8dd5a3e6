/** Live sockets in the workers tests: opened through the worker, every message kept in order. */
import { evictDurableObject, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect, onTestFinished } from 'vitest'
import { type LiveMessage, userObject } from '../../src/live/object'
import { BASE, failingDb, fetchWorker, type SignedIn } from '../helpers'

export interface Listener {
  socket: WebSocket
  /** Every message received so far, parsed when JSON. */
  messages: unknown[]
  /** Resolves with the close event's code and reason once the server has closed the socket. */
  closed: Promise<{ code: number; reason: string }>
  /** The next message not yet taken by next(), waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<unknown>
}

/** GET `path` with `Upgrade: websocket` and `headers` (bindings replaced by `env`); the raw response. */
export const upgrade = (path: string, headers: Record<string, string> = {}, env?: Partial<Env>) =>
  fetchWorker(`${BASE}${path}`, { headers: { Upgrade: 'websocket', ...headers } }, env)

/** Accepts the client end of a 101 and listens to it. */
export function listen(res: Response): Listener {
  expect(res.status).toBe(101)
  const socket = res.webSocket!
  expect(socket).toBeTruthy()
  const messages: unknown[] = []
  let taken = 0
  const waiters: (() => void)[] = []
  socket.addEventListener('message', (event) => {
    const data = String(event.data)
    let value: unknown = data
    try {
      value = JSON.parse(data)
    } catch {
      // `pong`, not JSON.
    }
    messages.push(value)
    for (const wake of waiters.splice(0)) wake()
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason })),
  )
  socket.accept()
  return {
    socket,
    messages,
    closed,
    async next(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs
      while (taken >= messages.length) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no message within ${timeoutMs} ms (got ${JSON.stringify(messages)})`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, left)
        })
      }
      return messages[taken++]
    },
  }
}

/** A ticket for `user`, which must be issued. */
export async function ticketFor(user: SignedIn): Promise<{ ticket: string; url: string; expiresIn: number }> {
  const res = await user.request('/tasks/live/ticket', { method: 'POST' })
  expect(res.status, await res.clone().text()).toBe(201)
  return res.json()
}

/** A socket of `user`, opened with a fresh ticket, its `ready` message taken. */
export async function connected(user: SignedIn): Promise<Listener & { ready: LiveMessage }> {
  const { ticket } = await ticketFor(user)
  const listener = listen(await upgrade(`/tasks/live?ticket=${ticket}`))
  const ready = (await listener.next()) as LiveMessage
  expect(ready.type).toBe('ready')
  return { ...listener, ready }
}

/** Waits `ms`. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Until the test ends, `userId`'s object finds D1 down; evicted afterwards, it finds it again. */
export async function breakDatabaseOf(userId: string): Promise<void> {
  const stub = userObject(env, userId)
  await runInDurableObject(stub, (instance) => {
    Object.assign(instance, { env: { ...env, DB: failingDb() } })
  })
  onTestFinished(() => evictDurableObject(stub))
}
