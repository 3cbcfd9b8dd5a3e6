// Builds the static assets directory ([assets] in wrangler.toml), public/, gitignored: Swagger UI's
// files, copied from node_modules so that nothing is ever loaded from a CDN, next to our page,
// initializer, icon and _headers from docs-ui/. `wrangler dev` and `wrangler deploy` run it first
// ([build] in wrangler.toml), however they are started, with the `node` on PATH: Node 20 will do.
//
// Safe to run twice at once, and beside a server that serves public/: a file whose bytes are
// already right is left alone (so a running `wrangler dev` sees no change and does not reload), a
// changed one is replaced in one rename, and only files this script does not make are removed.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import swaggerUiDist from 'swagger-ui-dist'

const root = fileURLToPath(new URL('..', import.meta.url))
const assets = path.join(root, 'public')
const swagger = swaggerUiDist.getAbsoluteFSPath()
const ours = path.join(root, 'docs-ui')

/** Each file of public/ (its path there) and where it comes from. */
const files = new Map([
  // Its licence and notices travel with the code (Apache-2.0).
  ...['swagger-ui-bundle.js', 'swagger-ui-bundle.js.LICENSE.txt', 'swagger-ui.css', 'LICENSE', 'NOTICE'].map((file) => [
    path.join('docs', file),
    path.join(swagger, file),
  ]),
  ...['init.js', 'favicon.svg'].map((file) => [path.join('docs', file), path.join(ours, file)]),
  // Served at /docs: html_handling drops the extension.
  ['docs.html', path.join(ours, 'docs.html')],
  ['_headers', path.join(ours, '_headers')],
])

/** A write in progress, by this run or another: `.<name>.<pid>.tmp` beside the file it replaces. */
const IN_PROGRESS = /^\..+\.\d+\.tmp$/
/** Older than this, such a file was left by a run that died, and is removed. */
const ABANDONED_MS = 60_000

const read = (file) => {
  try {
    return readFileSync(file)
  } catch (error) {
    if (error.code === 'ENOENT') return undefined
    throw error
  }
}

for (const [target, source] of files) {
  const bytes = readFileSync(source)
  const file = path.join(assets, target)
  if (read(file)?.equals(bytes)) continue
  mkdirSync(path.dirname(file), { recursive: true })
  const partial = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
  writeFileSync(partial, bytes)
  renameSync(partial, file)
}

// What an older version of this script made, and writes that were never finished.
for (const entry of readdirSync(assets, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue
  const file = path.join(entry.parentPath, entry.name)
  if (files.has(path.relative(assets, file))) continue
  if (
    IN_PROGRESS.test(entry.name) &&
    Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) < ABANDONED_MS
  )
    continue
  rmSync(file, { force: true })
}
