/**
 * What the API answers with, besides the task itself (src/tasks/model.ts), as zod schemas: they only
 * describe (the document, and tests that check real responses against it); requests are validated
 * by the schemas in src/tasks/requests.ts.
 */
import * as z from 'zod'
import { conversationDetail } from '../chat/requests'
import { taskEvent } from '../events/model'
import { notification } from '../notifications/model'
import { task } from '../tasks/model'

export const taskPage = z.strictObject({
  items: z.array(task),
  nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
})

export const bulkDeleted = z.strictObject({
  deleted: z.int().min(0).meta({ description: 'How many of your completed tasks were deleted.' }),
})

export const changesPage = z.strictObject({
  tasks: z.array(task).meta({ description: 'Tasks created or changed since the token, each in its current state.' }),
  deleted: z.array(z.string().meta({ format: 'uuid' })).meta({ description: 'Ids of tasks deleted since the token.' }),
  token: z.string().meta({ description: 'Send as `since` next time.' }),
  hasMore: z.boolean().meta({ description: 'More changes are waiting: ask again at once with the new token.' }),
})

export const me = z.strictObject({
  sub: z.string().meta({ description: "The token's subject: the user every task is scoped to." }),
  email: z.string().nullable(),
  name: z.string().nullable(),
})

/** GET /me/export: written as a stream (src/account/export.ts), in this shape. */
export const accountExport = z.strictObject({
  sub: z.string().meta({ description: 'The user the export is of.' }),
  exportedAt: z.string().meta({ format: 'date-time' }),
  tasks: z.array(task).meta({ description: 'Every task the user stores, oldest first.' }),
  events: z.array(taskEvent).meta({ description: 'The event log the user has (docs/events.md), oldest first.' }),
  notifications: z.array(notification).meta({ description: "The user's notification inbox, oldest first." }),
  conversations: z
    .array(conversationDetail)
    .meta({ description: "The assistant's conversations, oldest first, each with its messages." }),
})

export const health = z.strictObject({ status: z.literal('ok') })

export const problem = z
  .object({
    type: z.string().meta({ description: '`/problems/<slug>`, relative to the API origin; see the problem types.' }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    errors: z
      .array(
        z.union([
          z.strictObject({
            pointer: z.string().meta({ description: 'JSON Pointer into the body, as a URI fragment: `#/title`.' }),
            detail: z.string(),
          }),
          z.strictObject({
            parameter: z.string().meta({ description: 'The query parameter or (lower-case) header.' }),
            detail: z.string(),
          }),
        ]),
      )
      .optional()
      .meta({ description: 'Every invalid input (400 only).' }),
    requestId: z.string(),
  })
  .meta({ description: 'RFC 9457 problem details (application/problem+json).' })

/** An OpenAPI document is described, not schematised, here. */
export const openApiDocument = z.object({ openapi: z.string() }).meta({ description: 'This OpenAPI 3.1 document.' })

export const pushPublicKey = z.strictObject({
  publicKey: z.string().meta({ description: 'base64url of the uncompressed P-256 point (65 bytes).' }),
})

export const pushSubscription = z.strictObject({
  id: z.string().meta({ format: 'uuid' }),
  endpoint: z.string().meta({ format: 'uri', description: "The push service's URL for this browser." }),
  createdAt: z.string().meta({ format: 'date-time' }),
})

export const pushSubscriptionList = z.strictObject({ items: z.array(pushSubscription) })

export const liveTicket = z.strictObject({
  ticket: z.string().meta({ description: 'Single-use: opens one live connection.' }),
  url: z.string().meta({
    format: 'uri',
    description: 'The `ws://` or `wss://` URL of GET /tasks/live with this ticket: pass it to `new WebSocket()`.',
  }),
  expiresIn: z
    .int()
    .min(1)
    .max(60)
    .meta({ description: "Seconds the ticket stays usable: at most 60, and never past the token's expiry." }),
})
