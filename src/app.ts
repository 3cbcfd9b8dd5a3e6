/** Builds the Hono app: global middleware, routes, and the one error renderer. */
import { Hono } from 'hono'
import { getPath } from 'hono/utils/url'
import { accountRoutes } from './account/routes'
import { chatRoutes, conversationRoutes } from './chat/routes'
import { compatChatRoutes } from './compat/chat'
import { compatEventRoutes } from './compat/events'
import { compatRoutes } from './compat/routes'
import { cors } from './cors'
import type { AppEnv } from './env'
import { eventRoutes } from './events/routes'
import { liveRoutes } from './live/routes'
import { resourceMetadata } from './mcp/metadata'
import { mcpRoutes } from './mcp/routes'
import { notificationRoutes } from './notifications/routes'
import { observe } from './observability'
import { documentation } from './openapi/routes'
import { methodNotAllowed, onError, onNotFound } from './problem'
import { publicKeyRoutes, subscriptionRoutes } from './push/routes'
import { commonHeaders, json } from './respond'
import { taskRoutes } from './tasks/routes'

/** The request's path for routing; the /api routes answer with or without a trailing slash, as FastAPI's did. */
const routingPath = (request: Request) => {
  const path = getPath(request)
  return path.startsWith('/api/') && path.length > '/api/'.length && path.endsWith('/') ? path.slice(0, -1) : path
}

// One chain, so that its type (AppType) carries every route's input and output to hono/client.
export const app = new Hono<AppEnv>({ getPath: routingPath })
  .use(observe)
  // On whichever response is made, the error renderer's included.
  .use(commonHeaders)
  .use(cors)

  .get('/health', (c) => json(c, { status: 'ok' as const }, 200))
  .all('/health', () => {
    throw methodNotAllowed(['GET', 'HEAD'])
  })

  .route('/me', accountRoutes)
  // Before the task routes, whose /:id would take `events` for a task id.
  .route('/tasks', eventRoutes)
  // Before the task routes: their middleware and /tasks/:id would otherwise take /tasks/live.
  .route('/tasks/live', liveRoutes)
  .route('/tasks', taskRoutes)
  .route('/push', publicKeyRoutes)
  .route('/me/push-subscriptions', subscriptionRoutes)
  .route('/notifications', notificationRoutes)
  .route('/chat', chatRoutes)
  .route('/conversations', conversationRoutes)

// The FastAPI-contract adapter (src/compat/) has no typed client: hono/client users have /tasks.
app.route('/api', compatEventRoutes)
app.route('/api', compatRoutes)
// After the task routes, so that every path they answered (/api/tasks/chat included) is answered as before.
app.route('/api', compatChatRoutes)
// Public and generated from the routes above (and itself), so outside the typed chain.
app.route('/', documentation(app))

// JSON-RPC, not REST: outside the typed chain and the OpenAPI document.
app.route('/', resourceMetadata)
app.route('/mcp', mcpRoutes)

app.notFound(onNotFound)
app.onError(onError)

export type AppType = typeof app
