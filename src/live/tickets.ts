/**
 * Live tickets: a browser cannot put a token in a WebSocket's headers, so it trades its token for a
 * ticket (POST /tasks/live/ticket) and puts that in the URL. A ticket is single-use, lives at most
 * TICKET_TTL_SECONDS and never past the token it was issued under, and is kept only as a hash, in
 * its user's Durable Object (src/live/object.ts), which uses it up as it accepts the socket.
 *
 * Its form is `<object id>.<secret>`: the object's id (of the user's name, which it does not reveal)
 * says where the hash is kept, and the secret is 32 random bytes.
 */
import type { Issued } from '../auth'
import { sha256Hex } from '../hash'

/** How long a ticket may wait to be used: enough to open a socket, too short to be worth stealing. */
export const TICKET_TTL_SECONDS = 60

const TICKET = /^([0-9a-f]{64})\.([0-9a-f]{64})$/

/** What the user's object keeps of a ticket, under its hash. */
export interface TicketRecord extends Issued {
  /** When the ticket stops being redeemable, in ms since the epoch. */
  expiresAt: number
}

const randomHex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('')

/**
 * A new ticket for `userId`, good for TICKET_TTL_SECONDS or until `tokenExpiry` (seconds), whichever
 * is sooner; `expiresIn` is how many whole seconds that is, and undefined when it is not even one.
 */
export async function issueTicket(
  env: Env,
  userId: string,
  tokenExpiry: number,
  now = Date.now(),
): Promise<{ ticket: string; expiresIn: number } | undefined> {
  const expiresAt = Math.min(now + TICKET_TTL_SECONDS * 1000, tokenExpiry * 1000)
  const expiresIn = Math.floor((expiresAt - now) / 1000)
  if (expiresIn < 1) return undefined
  const secret = randomHex(32)
  const id = env.USER.idFromName(userId)
  await env.USER.get(id).keepTicket(await sha256Hex(secret), { userId, tokenExpiry, expiresAt })
  return { ticket: `${id}.${secret}`, expiresIn }
}

/** The object id and the hash of the secret of a ticket of our form; undefined for anything else. */
function parseTicket(env: Env, ticket: string): { id: DurableObjectId; secret: string } | undefined {
  const match = TICKET.exec(ticket)
  if (!match) return undefined
  try {
    return { id: env.USER.idFromString(match[1]!), secret: match[2]! }
  } catch {
    // Hex, but not an id of this namespace.
    return undefined
  }
}

/** The hash `ticket` is kept under: what its object uses it up by. */
export const ticketHash = (ticket: string) => sha256Hex(ticket.slice(ticket.indexOf('.') + 1))

/**
 * Who `ticket` was issued to, and the expiry of their token; undefined for one unknown, expired or
 * used. It is only looked at here: the user's object uses it up when it accepts the socket, so that
 * a request refused on the way there (its query, the upgrade, the socket limit) leaves it unused.
 */
export async function findTicket(env: Env, ticket: string, now = Date.now()): Promise<Issued | undefined> {
  const parsed = parseTicket(env, ticket)
  if (parsed === undefined) return undefined
  const record = await env.USER.get(parsed.id).findTicket(await sha256Hex(parsed.secret), now)
  // A ticket is good only at the object of the user it names.
  if (record === undefined || !env.USER.idFromName(record.userId).equals(parsed.id)) return undefined
  return { userId: record.userId, tokenExpiry: record.tokenExpiry }
}
