/**
 * GET /openapi.json: public, identical for everyone, so shared caches may keep it. The /docs page
 * that reads it is Swagger UI, served by Workers static assets without running this worker
 * (docs/api-docs-page.md).
 */
import { Hono } from 'hono'
import type { RouterRoute } from 'hono/types'
import type { AppEnv } from '../env'
import { methodNotAllowed } from '../problem'
import { respond } from '../respond'
import { documentJson } from './document'

/** The documentation routes for `api`, whose routes (these included) are read at the first request. */
export function documentation(api: { readonly routes: readonly RouterRoute[] }) {
  return new Hono<AppEnv>()
    .get('/openapi.json', (c) =>
      respond(c, documentJson(api.routes), 200, { 'Cache-Control': 'public, max-age=300' }, 'application/json'),
    )
    .all('/openapi.json', () => {
      throw methodNotAllowed(['GET', 'HEAD'])
    })
}
