/** Builds the Hono app: global middleware, routes, and the one error renderer. */
import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { requestId } from 'hono/request-id'
import { requireUser } from './auth'
import { getConfig } from './config'
import type { AppEnv } from './env'
import { methodNotAllowed, onError, onNotFound } from './problem'
import { taskRoutes } from './tasks/routes'

export const app = new Hono<AppEnv>()

app.use(requestId())

// Set before the handler runs: hono puts them into whichever response is made, the error
// renderer's included. Set after, each c.header() would copy the finished Response once more.
app.use(async (c, next) => {
  c.header('X-Content-Type-Options', 'nosniff')
  // Responses carry one user's data; no shared cache may keep them.
  c.header('Cache-Control', 'no-store')
  await next()
})

// Before authentication, so that preflights (which never carry a token) succeed.
app.use(
  cors({
    origin: (origin, c) => {
      const allowed = getConfig(c.env).corsOrigins
      if (allowed === '*') return '*'
      return allowed.has(origin) ? origin : null
    },
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key'],
    exposeHeaders: ['ETag', 'Location', 'Retry-After', 'X-Request-Id'],
    maxAge: 600,
  }),
)

app.get('/health', (c) => c.json({ status: 'ok' }))
app.all('/health', () => {
  throw methodNotAllowed(['GET', 'HEAD'])
})

app.get('/me', requireUser, (c) => {
  const { id, email, name } = c.var.user
  return c.json({ sub: id, email, name })
})
app.all('/me', requireUser, () => {
  throw methodNotAllowed(['GET', 'HEAD'])
})

app.route('/tasks', taskRoutes)

app.notFound(onNotFound)
app.onError(onError)

export type AppType = typeof app
