/**
 * GET /tasks under attack (SQL in any parameter, another user's tasks, cursors moved between
 * listings), and every listing against the reference for random tasks, sorts and filters.
 */
import { env } from 'cloudflare:workers'
import fc from 'fast-check'
import { beforeEach, describe, expect, it } from 'vitest'
import { PRIORITIES } from '../../src/tasks/model'
import { expectProblem, invalidNames, type SignedIn, signIn } from '../helpers'
import {
  type Filter,
  insert,
  listAll,
  MANY_REQUESTS,
  queryString,
  referenceMatch,
  referenceOrder,
  SORTS,
} from './list-reference'

let user: SignedIn
beforeEach(async () => {
  user = await signIn()
})

describe('attacks', () => {
  const INJECTIONS = [
    "' OR '1'='1",
    "x') OR 1=1 --",
    "%' OR user_id LIKE '%",
    '"; DROP TABLE tasks; --',
    "') UNION SELECT * FROM tasks --",
    '?1',
    '*/ OR 1=1 /*',
  ]

  it('refuses SQL, column names and expressions as the sort, naming sort', async () => {
    for (const sort of [
      'title; DROP TABLE tasks',
      'title,id',
      'created_at',
      'due_nulls_high',
      'priority_rank',
      '(SELECT 1)',
      'title COLLATE NOCASE',
      'title DESC',
      '-title--',
      'user_id',
      '1',
    ]) {
      const problem = await expectProblem(await user.request(`/tasks?sort=${encodeURIComponent(sort)}`), 400)
      expect(invalidNames(problem), sort).toEqual(['sort'])
    }
  })

  it('treats SQL in q and tag as text: it matches only itself, and the table is untouched', async () => {
    const other = await signIn()
    await insert(other.id, [{ title: 'other', tags: ['x'], description: 'x' }])
    await insert(user.id, [{ title: 'mine', tags: ['x'], description: 'x' }])
    // Of both users: other test files share the table.
    const countBoth = async () =>
      (await env.DB.prepare('SELECT count(*) AS count FROM tasks WHERE user_id IN (?1, ?2)')
        .bind(user.id, other.id)
        .first<{ count: number }>())!.count
    const count = await countBoth()
    for (const text of INJECTIONS) {
      for (const param of ['q', 'tag']) {
        expect(await listAll(user, `${param}=${encodeURIComponent(text)}`), `${param}=${text}`).toEqual([])
      }
    }
    const literal = await insert(
      user.id,
      INJECTIONS.map((text) => ({ title: text, tags: [text] })),
    )
    for (const task of literal) {
      for (const param of ['q', 'tag']) {
        const found = await listAll(user, `${param}=${encodeURIComponent(task.title)}`)
        expect(
          found.map((t) => t.id),
          `${param}=${task.title}`,
        ).toContain(task.id)
        expect(found.every((t) => t.title.includes(task.title))).toBe(true)
      }
    }
    expect(await countBoth()).toBe(count + INJECTIONS.length)
  })

  it(
    "never lists another user's tasks, under any sort and filter",
    async () => {
      const other = await signIn()
      // The other user's tasks match every filter below, and sort before and after the caller's.
      const everything = {
        priority: 'high' as const,
        tags: ['t'],
        description: 'needle',
        dueAt: '2000-01-01T00:00:00.000Z',
      }
      await insert(other.id, [
        { title: 'A other', ...everything },
        { title: 'z other', ...everything },
        { title: 'm other' },
      ])
      const mine = await insert(user.id, [{ title: 'm mine', ...everything }, { title: 'n mine' }])
      for (const sort of SORTS) {
        for (const filter of [
          '',
          'priority=high',
          'tag=t',
          'q=needle',
          'q=other',
          'dueBefore=2001-01-01T00:00:00Z',
          'dueAfter=1999-01-01T00:00:00Z',
          'overdue=true',
          'completed=false',
        ]) {
          for (const limit of [1, 100]) {
            const ids = (await listAll(user, `sort=${sort}${filter && `&${filter}`}`, limit)).map((t) => t.id)
            expect(
              ids.every((id) => mine.some((t) => t.id === id)),
              `${sort} ${filter}`,
            ).toBe(true)
          }
        }
      }
    },
    MANY_REQUESTS,
  )
})

describe('every listing, for random tasks, sorts and filters (fast-check)', () => {
  const RUNS = 100
  // Few distinct values, so that ties, equal titles in other cases and missing due dates are common.
  const TITLES = ['a', 'A', 'b', 'B', 'ab', 'aB', '_', '%', 'a%b', 'a_b', 'a\\b', 'é', 'É', 'ｱ', '😀']
  const TIMES = ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.001Z', '2026-06-01T12:00:00.000Z']
  const DUES = [
    '2000-01-01T00:00:00.000Z',
    '2001-01-01T00:00:00.000Z',
    '2998-01-01T00:00:00.000Z',
    '2999-01-01T00:00:00.000Z',
  ]
  const TAGS = ['x', 'y', 'X', '50%']

  const seed = fc.record({
    title: fc.constantFrom(...TITLES),
    description: fc.constantFrom('', 'x 50% y', 'A_B', 'b'),
    completed: fc.boolean(),
    priority: fc.constantFrom(...PRIORITIES),
    dueAt: fc.option(fc.constantFrom(...DUES), { nil: null }),
    tags: fc.subarray(TAGS),
    createdAt: fc.constantFrom(...TIMES),
    updatedAt: fc.constantFrom(...TIMES),
  })
  // Each filter in one listing out of five, so that most listings keep some tasks to order.
  const sometimes = <T>(arbitrary: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary })
  const filter = fc
    .record({
      completed: sometimes(fc.boolean()),
      priority: sometimes(fc.constantFrom(...PRIORITIES)),
      tags: sometimes(fc.subarray(TAGS, { minLength: 1, maxLength: 2 })),
      q: sometimes(fc.constantFrom('a', 'A', '%', '_', 'a%', '50%', 'é', '\\', 'B', 'x')),
      dueBefore: sometimes(fc.constantFrom(...DUES, '2500-01-01T00:00:00.000Z')),
      dueAfter: sometimes(fc.constantFrom(...DUES, '2500-01-01T00:00:00.000Z')),
      overdue: sometimes(fc.constant(true)),
    })
    .filter((f) => !(f.overdue && f.completed === true))
    .map((f): Filter => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)))

  it(
    "pages through exactly the caller's matching tasks, in the reference order, whatever the page size",
    async () => {
      let ordered = 0
      await fc.assert(
        fc.asyncProperty(
          fc.array(seed, { maxLength: 25, size: 'max' }),
          fc.array(seed, { maxLength: 5 }),
          fc.constantFrom(...SORTS),
          filter,
          fc.integer({ min: 1, max: 6 }),
          async (mine, theirs, sort, chosen, limit) => {
            const me = await signIn()
            const other = await signIn()
            const tasks = await insert(me.id, mine)
            await insert(other.id, theirs)
            const expected = tasks.filter(referenceMatch(chosen, new Date().toISOString())).sort(referenceOrder(sort))
            const listed = await listAll(me, queryString(sort, chosen), limit)
            expect(listed.map((t) => t.id)).toEqual(expected.map((t) => t.id))
            if (expected.length > limit) ordered++
          },
        ),
        { numRuns: RUNS },
      )
      // A property that only ever compared empty or single-page listings would prove nothing. About
      // 38% of runs span pages; fewer than a sixth would be 4 standard deviations off.
      expect(ordered).toBeGreaterThan(RUNS / 6)
    },
    MANY_REQUESTS,
  )
})
