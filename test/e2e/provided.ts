/** What test/e2e/global-setup.ts hands the e2e files (read it with `shared` from test/e2e/shared.ts). */
export interface SharedE2e {
  /** Base URL of the set-up's control server, a random path included; test/e2e/shared.ts calls it. */
  control: string
  /** The shared server's BETTER_AUTH_SECRET, for `npm run token`. */
  secret: string
  /** The port of the page relay: http://localhost:<port> is in CORS_ORIGINS, http://127.0.0.1:<port> is not. */
  pagesPort: number
  /** MCP_RESOURCE_URL: configuration, not the URL the server happens to listen on (a random port). */
  mcpResource: string
  /** CHAT_MODEL and CHAT_API_KEY, which the model relay's server should be sent. */
  chat: { model: string; key: string }
  /** WEBHOOK_SECRET, which signs what the webhook relay's receiver gets. */
  webhookSecret: string
}

/** The relays, each a loopback server the shared configuration names (see test/e2e/global-setup.ts). */
export type RelayName = 'pages' | 'model' | 'webhook'

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: SharedE2e
  }
}
