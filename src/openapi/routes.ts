/** GET /openapi.json and GET /docs: public, identical for everyone, so shared caches may keep them. */
import { Hono } from 'hono'
import type { RouterRoute } from 'hono/types'
import type { AppEnv } from '../env'
import { methodNotAllowed } from '../problem'
import { DOCS_CSP, DOCS_CSS, DOCS_HTML, DOCS_JS } from './docs-page'
import { documentJson } from './document'

const CACHE = 'public, max-age=300'

/** The documentation routes for `api`, whose routes (these included) are read at the first request. */
export function documentation(api: { readonly routes: readonly RouterRoute[] }) {
  const docs = new Hono<AppEnv>()
    .get('/openapi.json', (c) =>
      c.body(documentJson(api.routes), 200, { 'Content-Type': 'application/json', 'Cache-Control': CACHE }),
    )
    .get('/docs', (c) =>
      c.body(DOCS_HTML, 200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': DOCS_CSP,
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': CACHE,
      }),
    )
    .get('/docs/app.js', (c) =>
      c.body(DOCS_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': CACHE }),
    )
    .get('/docs/app.css', (c) =>
      c.body(DOCS_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': CACHE }),
    )
  for (const path of ['/openapi.json', '/docs', '/docs/app.js', '/docs/app.css']) {
    docs.all(path, () => {
      throw methodNotAllowed(['GET', 'HEAD'])
    })
  }
  return docs
}
