/**
 * The user's Durable Object, one per user (`idFromName(sub)`): it holds the WebSockets of every
 * device of the user that listens for changes (GET /tasks/live), and the tickets that open them
 * (src/live/tickets.ts). Sockets are accepted with the Hibernation API, so an idle object leaves
 * memory while its sockets stay open, and `ping` is answered `pong` without waking it.
 *
 * A socket carries no task data: after each committed write the object tells every socket the sync
 * token the user's tasks are now at, and the client pulls GET /tasks/changes (docs/live.md).
 */
import { DurableObject } from 'cloudflare:workers'
import { userPseudonym } from '../hash'
import { encodeToken } from '../tasks/sync-token'
import { currentSequence, listenFrom } from './repo'
import type { TicketRecord } from './tickets'

/** What the worker tells the object about a socket it asks it to accept (`connect`). */
export interface SocketRequest {
  userId: string
  /** When the token the socket was opened with expires, in ms since the epoch: the socket closes then. */
  expiresAt: number
  /** LIVE_SOCKETS_PER_USER. */
  limit: number
  /** The hash of the ticket the socket is opened with, used up as it is accepted; none for a token. */
  ticket?: string
}

/** Kept with each socket across hibernation. */
interface Attachment {
  expiresAt: number
}

/** The close codes a client can get from us (4000-4999 are the application's). */
export const CLOSE = {
  /** Connect again with a fresh token (or a ticket issued under one). */
  expired: { code: 4001, reason: 'The token this connection was opened with has expired.' },
  /** The account was erased (DELETE /me): resync from nothing before listening again. */
  erased: { code: 4002, reason: 'The account was erased.' },
} as const

/** The message every socket gets on connect (`ready`) and after each change (`changed`). */
export type LiveMessage = { type: 'ready' | 'changed'; token: string }

const TICKET_PREFIX = 'ticket:'
/** Unredeemed tickets a user may hold; past it the oldest go. Each lives a minute at most. */
export const MAX_TICKETS = 50

/** The stub of `userId`'s object. */
export const userObject = (env: Pick<Env, 'USER'>, userId: string) => env.USER.get(env.USER.idFromName(userId))

/**
 * How long after a socket's expiry writes still poke: the object's clock closes the socket, D1's
 * judges the mark (src/live/repo.ts), and the two may differ by a little.
 */
export const CLOCK_MARGIN_MS = 60_000

/** What GET /tasks/changes answers once caught up at sequence number `seq`. */
const tokenAt = async (seq: number, userId: string) =>
  encodeToken({ after: seq, tombstonesAfter: seq, user: await userPseudonym(userId) })

/** Logs a poke that failed: the write has committed, and the client catches up on its next pull. */
export async function logPokeFailure(userId: string, error: unknown): Promise<void> {
  console.error(
    JSON.stringify({
      level: 'error',
      message: 'live poke failed',
      user: await userPseudonym(userId),
      error: String(error),
    }),
  )
}

function close(socket: WebSocket, { code, reason }: { code: number; reason: string }) {
  try {
    socket.close(code, reason)
  } catch {
    // Closed or closing already.
  }
}

export class UserObject extends DurableObject<Env> {
  /** The read and broadcast under way for a poke, if any. */
  private refreshing: Promise<void> | undefined
  /** A poke arrived during that read: read once more, since the read may have missed its write. */
  private again = false
  /** Pokes received since the object started, so that a connect can tell whether one came while it read. */
  private pokes = 0
  /** The highest change sequence number the sockets were told since the object started: no message goes back. */
  private told = 0

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    // Answered by the runtime, without waking the object: a client's keep-alive costs nothing.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'))
  }

  /**
   * Accepts the WebSocket of a request the worker has authenticated (GET /tasks/live): 101, or 429
   * at the user's limit, 401 when its ticket was used meanwhile, or 503 when the user's sync
   * position cannot be read.
   */
  override async fetch(request: Request): Promise<Response> {
    const header = request.headers.get(SOCKET_REQUEST_HEADER) ?? '{}'
    const { userId, expiresAt, limit, ticket } = JSON.parse(header) as SocketRequest
    const pokesBefore = this.pokes
    let token: string
    try {
      // Every write from here on pokes this object, until the socket's token expires.
      token = await tokenAt(await listenFrom(this.env.DB, userId, expiresAt + CLOCK_MARGIN_MS), userId)
    } catch (error) {
      console.error(JSON.stringify({ level: 'error', message: 'live connect failed', error: String(error) }))
      return new Response(null, { status: 503 })
    }
    // Counted after the read, with nothing but storage awaited before the accept: storage holds other
    // requests back (input gates), so concurrent connects can neither overshoot nor share a ticket.
    if (this.ctx.getWebSockets().length >= limit) return new Response(null, { status: 429 })
    if (ticket !== undefined && (await this.redeemTicket(ticket, Date.now())) === undefined) {
      return new Response(null, { status: 401 })
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket]
    this.ctx.acceptWebSocket(server)
    server.serializeAttachment({ expiresAt } satisfies Attachment)
    server.send(JSON.stringify({ type: 'ready', token } satisfies LiveMessage))
    await this.expireAt(expiresAt)
    // A write poked during the read may be newer than `token`, and its message went only to the
    // sockets open then: tell them all again, this one included.
    if (this.pokes !== pokesBefore) await this.poke(userId)
    return new Response(null, { status: 101, webSocket: client })
  }

  /**
   * Tells every socket of the user the token their tasks are at, after a committed write. A write
   * that passes `seq`, the change sequence number it took, is told at once, without reading D1.
   * Other pokes (a delete, a reminder) read the number; pokes during a read are coalesced into one
   * more read, so the last message after a burst covers every write in it. Resolves once the
   * message that covers this poke's write has been sent, or its failure logged.
   */
  async poke(userId: string, seq?: number): Promise<void> {
    this.pokes++
    if (this.ctx.getWebSockets().length === 0) return
    if (seq !== undefined) return this.tell(userId, seq).catch((error) => logPokeFailure(userId, error))
    if (this.refreshing) {
      this.again = true
      return this.refreshing
    }
    this.refreshing = this.refresh(userId)
      .catch((error) => logPokeFailure(userId, error))
      .finally(() => {
        this.refreshing = undefined
      })
    return this.refreshing
  }

  private async refresh(userId: string): Promise<void> {
    do {
      this.again = false
      await this.tell(userId, await currentSequence(this.env.DB, userId))
    } while (this.again)
  }

  /**
   * Sends every socket the token at `seq`, or at the higher number told before: pokes may arrive out
   * of order, and a read may end after a newer write was told.
   */
  private async tell(userId: string, seq: number): Promise<void> {
    this.told = Math.max(this.told, seq)
    const message = JSON.stringify({ type: 'changed', token: await tokenAt(this.told, userId) })
    for (const socket of this.ctx.getWebSockets()) {
      try {
        socket.send(message)
      } catch {
        // Closing: the client reconnects and is sent `ready`.
      }
    }
  }

  /** Keeps a ticket's record under its hash, dropping expired tickets and, past MAX_TICKETS, the oldest. */
  async keepTicket(hash: string, record: TicketRecord): Promise<void> {
    const now = Date.now()
    const kept = [...(await this.ctx.storage.list<TicketRecord>({ prefix: TICKET_PREFIX }))]
    const live = kept.filter(([, t]) => t.expiresAt > now).sort(([, a], [, b]) => a.expiresAt - b.expiresAt)
    const dropped = [
      ...kept.filter(([, t]) => t.expiresAt <= now),
      ...live.slice(0, Math.max(0, live.length - (MAX_TICKETS - 1))),
    ].map(([key]) => key)
    if (dropped.length > 0) await this.ctx.storage.delete(dropped)
    await this.ctx.storage.put(`${TICKET_PREFIX}${hash}`, record)
    await this.expireAt(record.expiresAt)
  }

  /** The record of the unexpired ticket with this hash, left as it is. */
  async findTicket(hash: string, now: number): Promise<TicketRecord | undefined> {
    const record = await this.ctx.storage.get<TicketRecord>(`${TICKET_PREFIX}${hash}`)
    return record !== undefined && record.expiresAt > now ? record : undefined
  }

  /** The record of the ticket with this hash, deleted as it is read: a ticket is good once, and only before it expires. */
  private async redeemTicket(hash: string, now: number): Promise<TicketRecord | undefined> {
    const key = `${TICKET_PREFIX}${hash}`
    const record = await this.ctx.storage.get<TicketRecord>(key)
    if (record === undefined) return undefined
    await this.ctx.storage.delete(key)
    return record.expiresAt > now ? record : undefined
  }

  /** DELETE /me: closes every socket of the user and forgets everything the object keeps. */
  async erase(): Promise<void> {
    for (const socket of this.ctx.getWebSockets()) close(socket, CLOSE.erased)
    await this.ctx.storage.deleteAlarm()
    await this.ctx.storage.deleteAll()
  }

  /** Closes the sockets whose token has expired and forgets expired tickets; wakes again for the next. */
  override async alarm(): Promise<void> {
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    for (const socket of this.ctx.getWebSockets()) {
      const { expiresAt } = (socket.deserializeAttachment() as Attachment | null) ?? { expiresAt: 0 }
      if (expiresAt <= now) close(socket, CLOSE.expired)
      else next = Math.min(next, expiresAt)
    }
    const expired: string[] = []
    for (const [key, ticket] of await this.ctx.storage.list<TicketRecord>({ prefix: TICKET_PREFIX })) {
      if (ticket.expiresAt <= now) expired.push(key)
      else next = Math.min(next, ticket.expiresAt)
    }
    if (expired.length > 0) await this.ctx.storage.delete(expired)
    if (next !== Number.POSITIVE_INFINITY) await this.ctx.storage.setAlarm(next)
  }

  /** A client's messages other than `ping` (answered by the runtime) mean nothing. */
  override webSocketMessage(): void {}

  /** Sets the alarm for `time` unless it is set for sooner. */
  private async expireAt(time: number): Promise<void> {
    const alarm = await this.ctx.storage.getAlarm()
    if (alarm === null || time < alarm) await this.ctx.storage.setAlarm(time)
  }
}

/** The header in which the worker hands the object a SocketRequest. */
export const SOCKET_REQUEST_HEADER = 'X-Socket-Request'

/**
 * Asks `userId`'s object to accept a WebSocket: the client end, or the status the object refused
 * with (401: the ticket was used meanwhile; 429: at the limit; 503: the database is unavailable).
 */
export async function connect(env: Env, socket: SocketRequest): Promise<WebSocket | 401 | 429 | 503> {
  const response = await userObject(env, socket.userId).fetch('https://user-object/live', {
    headers: { Upgrade: 'websocket', [SOCKET_REQUEST_HEADER]: JSON.stringify(socket) },
  })
  if (response.status === 101 && response.webSocket) return response.webSocket
  if (response.status === 401 || response.status === 429 || response.status === 503) return response.status
  throw new Error(`the user's object answered a connect with ${response.status}`)
}
