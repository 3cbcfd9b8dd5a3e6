// Builds the static assets directory ([assets] in wrangler.toml): Swagger UI's files, copied from
// node_modules so that nothing is ever loaded from a CDN, next to our page, initializer and _headers.
// `npm run dev`, `npm test`, `npm run bench` and `npm run deploy` run it first.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import swaggerUiDist from 'swagger-ui-dist'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The directory wrangler serves; generated, so gitignored. */
export const assetsDir = path.join(root, 'public')

/** Rebuilds `public/` from swagger-ui-dist and `docs-ui/`. */
export function copyDocsUi() {
  const swagger = swaggerUiDist.getAbsoluteFSPath()
  const ours = path.join(root, 'docs-ui')
  rmSync(assetsDir, { recursive: true, force: true })
  mkdirSync(path.join(assetsDir, 'docs'), { recursive: true })
  // Its licence and notices travel with the code (Apache-2.0).
  for (const file of [
    'swagger-ui-bundle.js',
    'swagger-ui-bundle.js.LICENSE.txt',
    'swagger-ui.css',
    'LICENSE',
    'NOTICE',
  ])
    copyFileSync(path.join(swagger, file), path.join(assetsDir, 'docs', file))
  copyFileSync(path.join(ours, 'init.js'), path.join(assetsDir, 'docs', 'init.js'))
  // Served at /docs: html_handling drops the extension.
  copyFileSync(path.join(ours, 'docs.html'), path.join(assetsDir, 'docs.html'))
  copyFileSync(path.join(ours, '_headers'), path.join(assetsDir, '_headers'))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) copyDocsUi()
