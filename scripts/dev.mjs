// `npm run dev`: .dev.vars (created if missing), local D1 migrated, then `wrangler dev` (port 8787
// from wrangler.toml).
// Extra arguments go to `wrangler dev`, e.g. `npm run dev -- --port 9000`. A `--persist-to <dir>`
// among them goes to the migrations too, so that the database wrangler dev opens has the schema.
import { spawn, spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { copyDocsUi } from './copy-docs-ui.mjs'
import { ensureDevVars, root } from './dev-vars.mjs'

const wrangler = `${root}node_modules/wrangler/bin/wrangler.js`
// The API never reads request.cf; without this, every start tries to download it from Cloudflare.
const env = { CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...process.env }
const run = (args) => spawnSync(process.execPath, [wrangler, ...args], { cwd: root, env, stdio: 'inherit' })

ensureDevVars()
// The /docs page's static assets; wrangler dev refuses to start without the directory.
copyDocsUi()

const devArgs = process.argv.slice(2)
const { values } = parseArgs({ args: devArgs, strict: false, options: { 'persist-to': { type: 'string' } } })
const persistTo = typeof values['persist-to'] === 'string' ? ['--persist-to', values['persist-to']] : []

// The same migrations the tests and production use; local state persists in .wrangler/state.
const migrate = run(['d1', 'migrations', 'apply', 'DB', '--local', ...persistTo])
if (migrate.status !== 0) process.exit(migrate.status ?? 1)

const dev = spawn(process.execPath, [wrangler, 'dev', ...devArgs], {
  cwd: root,
  env,
  stdio: 'inherit',
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal))
dev.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
