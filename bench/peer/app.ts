/**
 * The naive peer: the design card read literally, as the simplest team would build it. Hono with
 * `hono/jwt` on /tasks/*, three handlers that scope one D1 table by the token's `sub`, and /health.
 * No rate limit, validation library, ETags, sync feed, idempotency or problem documents: what our
 * features cost per request is measured against this (docs/performance.md, "Against the naive
 * peer"). Bench only: never deployed, never part of the app's bundle or tests.
 */
import { Hono } from 'hono'
import { jwt } from 'hono/jwt'

export interface PeerBindings {
  DB: D1Database
  BETTER_AUTH_SECRET: string
}

type PeerEnv = { Bindings: PeerBindings; Variables: { jwtPayload: { sub: string } } }
type NewTask = { title: string; description?: string; tags?: string[] }

// Its own table, made on first use, so that the project's migrations know nothing of it. The index
// serves the list, as any team that lists newest first would add.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS peer_tasks (
     id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     title TEXT NOT NULL,
     description TEXT NOT NULL DEFAULT '',
     completed INTEGER NOT NULL DEFAULT 0,
     priority TEXT NOT NULL DEFAULT 'medium',
     due_at TEXT,
     tags TEXT NOT NULL DEFAULT '[]',
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     completed_at TEXT
   )`,
  'CREATE INDEX IF NOT EXISTS peer_tasks_by_user_created ON peer_tasks (user_id, created_at DESC)',
]

/** Once per isolate and database: the schema statements' promise, dropped if they fail. */
const schemas = new WeakMap<D1Database, Promise<unknown>>()
function ensureSchema(db: D1Database): Promise<unknown> {
  let ready = schemas.get(db)
  if (!ready) {
    ready = db.batch(SCHEMA.map((sql) => db.prepare(sql))).catch((error: unknown) => {
      schemas.delete(db)
      throw error
    })
    schemas.set(db, ready)
  }
  return ready
}

export const peer = new Hono<PeerEnv>()

peer.get('/health', (c) => c.json({ status: 'ok' }))

// The secret is a binding, so the middleware is made per request, as hono's documentation shows.
peer.use('/tasks/*', (c, next) => jwt({ secret: c.env.BETTER_AUTH_SECRET, alg: 'HS256' })(c, next))
peer.use('/tasks/*', async (c, next) => {
  await ensureSchema(c.env.DB)
  await next()
})

peer.get('/tasks', async (c) => {
  const limit = Number(c.req.query('limit') ?? 50)
  const { results } = await c.env.DB.prepare(
    'SELECT * FROM peer_tasks WHERE user_id = ?1 ORDER BY created_at DESC LIMIT ?2',
  )
    .bind(c.get('jwtPayload').sub, limit)
    .all()
  return c.json(results)
})

peer.get('/tasks/:id', async (c) => {
  const task = await c.env.DB.prepare('SELECT * FROM peer_tasks WHERE user_id = ?1 AND id = ?2')
    .bind(c.get('jwtPayload').sub, c.req.param('id'))
    .first()
  return task ? c.json(task) : c.json({ error: 'not found' }, 404)
})

peer.post('/tasks', async (c) => {
  const { title, description = '', tags = [] } = await c.req.json<NewTask>()
  const now = new Date().toISOString()
  const task = await c.env.DB.prepare(
    `INSERT INTO peer_tasks (user_id, id, title, description, tags, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING *`,
  )
    .bind(c.get('jwtPayload').sub, crypto.randomUUID(), title, description, JSON.stringify(tags), now)
    .first()
  return c.json(task, 201)
})
