/** One request the fake push service received, as the global set-up records it. */
export interface ReceivedPush {
  method: string
  /** The original URL's host and path: `/fcm.googleapis.com/fcm/send/…`. */
  path: string
  headers: Record<string, string>
  /** The body, base64. */
  body: string
  /** The status the fake answered with. */
  status: number
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the fake push service on loopback (test/push/global-setup.ts). */
    pushService: string
  }
}
