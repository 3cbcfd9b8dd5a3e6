// Builds the static assets directory ([assets] in wrangler.toml), public/, gitignored: Swagger UI's
// files, copied from node_modules so that nothing is ever loaded from a CDN, next to our page,
// initializer, icon and _headers from docs-ui/. `wrangler dev` and `wrangler deploy` run it first
// ([build] in wrangler.toml), however they are started, with the `node` on PATH: Node 20 will do.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import swaggerUiDist from 'swagger-ui-dist'

const root = fileURLToPath(new URL('..', import.meta.url))
const assets = path.join(root, 'public')
const swagger = swaggerUiDist.getAbsoluteFSPath()
const ours = path.join(root, 'docs-ui')

rmSync(assets, { recursive: true, force: true })
mkdirSync(path.join(assets, 'docs'), { recursive: true })
// Its licence and notices travel with the code (Apache-2.0).
for (const file of ['swagger-ui-bundle.js', 'swagger-ui-bundle.js.LICENSE.txt', 'swagger-ui.css', 'LICENSE', 'NOTICE'])
  copyFileSync(path.join(swagger, file), path.join(assets, 'docs', file))
for (const file of ['init.js', 'favicon.svg']) copyFileSync(path.join(ours, file), path.join(assets, 'docs', file))
// Served at /docs: html_handling drops the extension.
copyFileSync(path.join(ours, 'docs.html'), path.join(assets, 'docs.html'))
copyFileSync(path.join(ours, '_headers'), path.join(assets, '_headers'))
