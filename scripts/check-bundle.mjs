// Builds the worker exactly as `wrangler deploy` would (dry run: no login, no network) and fails
// when the gzipped upload exceeds the budget. Size is startup time on every cold isolate, and
// Workers refuse scripts over their plan's limit.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'

// 150 KiB until chat, task events and live updates came; none brings an SDK (the model is called
// with fetch, webhooks are signed with Web Crypto), so what they add is their own code.
const BUDGET_KIB = 200

const outdir = mkdtempSync(path.join(tmpdir(), 'tasks-bundle-'))
try {
  execFileSync('wrangler', ['deploy', '--dry-run', '--outdir', outdir], { stdio: ['ignore', 'ignore', 'inherit'] })
  // What wrangler uploads: the modules, not the source maps or its README.
  const modules = readdirSync(outdir, { recursive: true }).filter((f) => /\.(m?js|wasm)$/.test(String(f)))
  let raw = 0
  let gzipped = 0
  for (const file of modules) {
    const bytes = readFileSync(path.join(outdir, String(file)))
    raw += bytes.length
    gzipped += gzipSync(bytes).length
  }
  const kib = (n) => (n / 1024).toFixed(1)
  const verdict = gzipped <= BUDGET_KIB * 1024 ? 'ok' : 'OVER BUDGET'
  console.log(`bundle: ${kib(raw)} KiB, ${kib(gzipped)} KiB gzipped (budget ${BUDGET_KIB} KiB): ${verdict}`)
  if (verdict !== 'ok') process.exitCode = 1
} finally {
  rmSync(outdir, { recursive: true, force: true })
}
