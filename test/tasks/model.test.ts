/**
 * The task's limits are stated twice by necessity: in src/tasks/model.ts, which the API enforces
 * and documents, and in the CHECK constraints of migrations/, which SQL cannot import. This keeps
 * the two equal, in the table as the migrations leave it.
 */
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { LIMITS, PRIORITIES } from '../../src/tasks/model'

let schema = ''

/** The numbers (or quoted words) `pattern` captures in the table's schema; exactly one match expected. */
function check(pattern: RegExp): string[] {
  const matches = [...schema.matchAll(new RegExp(pattern, 'g'))]
  expect(matches, String(pattern)).toHaveLength(1)
  return matches[0]!.slice(1)
}

describe('the task model and the CHECK constraints in migrations/', () => {
  beforeAll(async () => {
    const table = await env.DB.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tasks'").first()
    schema = String(table?.sql ?? '')
  })

  it('reads the table the migrations leave', () => {
    expect(schema).toMatch(/^CREATE TABLE "?tasks"? \(/)
  })

  it('limit the title to the same lengths', () => {
    expect(check(/length\(title\) BETWEEN (\d+) AND (\d+)/).map(Number)).toEqual([LIMITS.title.min, LIMITS.title.max])
  })

  it('limit the description to the same length', () => {
    expect(check(/length\(description\) <= (\d+)/).map(Number)).toEqual([LIMITS.description.max])
  })

  it('limit the number of tags alike', () => {
    expect(check(/json_array_length\(tags\) <= (\d+)/).map(Number)).toEqual([LIMITS.tags.max])
  })

  it('allow the same priorities', () => {
    const [list] = check(/priority IN \(([^)]*)\)/)
    expect(list!.split(',').map((p) => p.trim().replace(/^'|'$/g, ''))).toEqual([...PRIORITIES])
  })
})
