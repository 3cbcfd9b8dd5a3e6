/** What a client may send to /me/push-subscriptions: a browser's `PushSubscription.toJSON()`. */
import * as z from 'zod'

export const MAX_SUBSCRIPTIONS_PER_USER = 10
export const MAX_ENDPOINT_LENGTH = 2048

/** base64url of exactly `bytes` bytes; padding, which some browsers add, is dropped. */
const base64url = (bytes: number) =>
  z
    .string()
    .transform((s) => s.replace(/=+$/, ''))
    .refine(
      (s) => /^[A-Za-z0-9_-]*$/.test(s) && s.length === Math.ceil((bytes * 4) / 3),
      `must be ${bytes} bytes in base64url`,
    )

const endpoint = z.string().min(1).max(MAX_ENDPOINT_LENGTH).meta({ format: 'uri' })

export const subscriptionInput = z.strictObject({
  endpoint,
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    // An uncompressed P-256 point; the route also checks it is on the curve.
    p256dh: base64url(65).refine((s) => s.startsWith('B'), 'must be an uncompressed P-256 point'),
    auth: base64url(16),
  }),
})
export type SubscriptionInput = z.output<typeof subscriptionInput>

export const subscriptionQuery = z.strictObject({ endpoint })
