// `npm run figures`: runs the workerd suite once and adds up what it tried, from the metadata
// test/figures.ts records on every test: tests per file, requests sent, 5xx answers, and the runs
// of each fast-check property. The property tests must show 0 5xx; the files that inject faults
// (a failing D1, a misconfiguration, a key-set outage) show the 5xx they provoke on purpose.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
const dir = mkdtempSync(path.join(tmpdir(), 'tasks-figures-'))
const report = path.join(dir, 'report.json')
try {
  execFileSync(
    process.execPath,
    [
      path.join(root, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--reporter=dot',
      '--reporter=json',
      `--outputFile.json=${report}`,
    ],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
  )
  const { testResults } = JSON.parse(readFileSync(report, 'utf8'))
  const rows = []
  const properties = []
  for (const file of testResults) {
    const row = { file: path.relative(root, file.name), tests: 0, passed: 0, requests: 0, serverErrors: 0 }
    for (const test of file.assertionResults) {
      row.tests++
      if (test.status === 'passed') row.passed++
      row.requests += test.meta?.requests ?? 0
      row.serverErrors += test.meta?.serverErrors ?? 0
      if (test.meta?.runs) properties.push({ file: row.file, title: test.title, ...test.meta })
    }
    rows.push(row)
  }
  rows.sort((a, b) => a.file.localeCompare(b.file))
  const total = rows.reduce(
    (t, r) => ({
      tests: t.tests + r.tests,
      passed: t.passed + r.passed,
      requests: t.requests + r.requests,
      serverErrors: t.serverErrors + r.serverErrors,
    }),
    { tests: 0, passed: 0, requests: 0, serverErrors: 0 },
  )
  console.log('\n| file | tests | passed | requests | 5xx |\n|:--|--:|--:|--:|--:|')
  for (const r of [...rows, { file: '**total**', ...total }])
    console.log(`| ${r.file} | ${r.tests} | ${r.passed} | ${r.requests} | ${r.serverErrors} |`)
  console.log('\n| property | runs | requests | 5xx |\n|:--|--:|--:|--:|')
  for (const p of properties) console.log(`| ${p.file}: ${p.title} | ${p.runs} | ${p.requests} | ${p.serverErrors} |`)
  const runs = properties.reduce((n, p) => n + p.runs, 0)
  const propertyRequests = properties.reduce((n, p) => n + p.requests, 0)
  const propertyErrors = properties.reduce((n, p) => n + p.serverErrors, 0)
  console.log(`\n${properties.length} properties, ${runs} runs, ${propertyRequests} requests, ${propertyErrors} 5xx.`)
  if (propertyErrors > 0 || total.passed !== total.tests) process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
