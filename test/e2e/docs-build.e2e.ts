/**
 * The `[build]` step (scripts/copy-docs-ui.mjs), run as wrangler runs it, in a copy of the project's
 * layout: public/ comes out whole however many runs overlap, a run that finds it right writes
 * nothing (so a running `wrangler dev` does not reload when a second one starts), and what the
 * script does not make is removed, except a write another run has under way.
 */
import { execFile } from 'node:child_process'
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const repo = path.resolve(import.meta.dirname, '../..')

describe('the public/ build', () => {
  let root = ''
  let assets = ''
  const build = () => run(process.execPath, [path.join(root, 'scripts/copy-docs-ui.mjs')], { cwd: root })

  /** Every file of public/, by its path there, with its bytes and inode. */
  const tree = () =>
    Object.fromEntries(
      readdirSync(assets, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => {
          const file = path.join(entry.parentPath, entry.name)
          const { ino, mtimeMs } = statSync(file)
          return [path.relative(assets, file), { bytes: readFileSync(file).toString('base64'), ino, mtimeMs }]
        }),
    )
  const contents = () => Object.fromEntries(Object.entries(tree()).map(([file, { bytes }]) => [file, bytes]))

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'tasks-docs-build-'))
    assets = path.join(root, 'public')
    mkdirSync(path.join(root, 'scripts'))
    cpSync(path.join(repo, 'scripts/copy-docs-ui.mjs'), path.join(root, 'scripts/copy-docs-ui.mjs'))
    cpSync(path.join(repo, 'docs-ui'), path.join(root, 'docs-ui'), { recursive: true })
    symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'))
  })

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true })
  })

  it('builds the page and its files, the same whichever of several overlapping runs finishes last', async () => {
    await Promise.all([build(), build(), build(), build()])
    const built = contents()
    expect(Object.keys(built).sort()).toEqual(
      [
        '_headers',
        'docs.html',
        'docs/LICENSE',
        'docs/NOTICE',
        'docs/favicon.svg',
        'docs/init.js',
        'docs/swagger-ui-bundle.js',
        'docs/swagger-ui-bundle.js.LICENSE.txt',
        'docs/swagger-ui.css',
      ].sort(),
    )
    expect(built['docs.html']).toBe(readFileSync(path.join(repo, 'docs-ui/docs.html')).toString('base64'))

    // Overlapping runs over a built tree, and over one with a file changed under them.
    writeFileSync(path.join(assets, 'docs/init.js'), 'stale')
    await Promise.all([build(), build(), build()])
    expect(contents()).toEqual(built)
  })

  it('writes nothing when public/ is already right', async () => {
    await build()
    const before = tree()
    // Any write would move a file's time past this.
    const past = new Date(Date.now() - 3_600_000)
    for (const file of Object.keys(before)) utimesSync(path.join(assets, file), past, past)
    const aged = tree()
    await Promise.all([build(), build()])
    expect(tree()).toEqual(aged)
  })

  it('replaces a changed source file, and removes what it does not make but not a write under way', async () => {
    await build()
    writeFileSync(path.join(root, 'docs-ui/init.js'), '// a new initializer\n')
    writeFileSync(path.join(assets, 'docs/renamed-long-ago.js'), 'old')
    // Another run's write, just begun, and one whose run died an hour ago.
    writeFileSync(path.join(assets, 'docs/.init.js.4242.tmp'), 'half')
    const abandoned = path.join(assets, '.docs.html.4243.tmp')
    writeFileSync(abandoned, 'half')
    const hourAgo = new Date(Date.now() - 3_600_000)
    utimesSync(abandoned, hourAgo, hourAgo)

    await build()
    const files = Object.keys(contents())
    expect(readFileSync(path.join(assets, 'docs/init.js'), 'utf8')).toBe('// a new initializer\n')
    expect(files).not.toContain('docs/renamed-long-ago.js')
    expect(files).toContain('docs/.init.js.4242.tmp')
    expect(files).not.toContain('.docs.html.4243.tmp')
  })
})
