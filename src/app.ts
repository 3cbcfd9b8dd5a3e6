/** Builds the Hono app: global middleware, routes, and the one error renderer. */
import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { guard } from './guard'
import { cors } from './cors'
import type { AppEnv } from './env'
import { observe } from './observability'
import { methodNotAllowed, onError, onNotFound } from './problem'
import { taskRoutes } from './tasks/routes'

export const app = new Hono<AppEnv>()

app.use(requestId())
app.use(observe)

// Set before the handler runs: hono puts them into whichever response is made, the error
// renderer's included. Set after, each c.header() would copy the finished Response once more.
app.use(async (c, next) => {
  c.header('X-Content-Type-Options', 'nosniff')
  // Responses carry one user's data; no shared cache may keep them.
  c.header('Cache-Control', 'no-store')
  await next()
})

app.use(cors)

app.get('/health', (c) => c.json({ status: 'ok' }))
app.all('/health', () => {
  throw methodNotAllowed(['GET', 'HEAD'])
})

app.get('/me', guard, (c) => {
  const { id, email, name } = c.var.user
  return c.json({ sub: id, email, name })
})
app.all('/me', guard, () => {
  throw methodNotAllowed(['GET', 'HEAD'])
})

app.route('/tasks', taskRoutes)

app.notFound(onNotFound)
app.onError(onError)

export type AppType = typeof app
