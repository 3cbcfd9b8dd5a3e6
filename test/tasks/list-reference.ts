/**
 * What the list tests share: seeding tasks straight into D1 with chosen values, paging through a
 * listing, and the reference order and filter the SQL is checked against.
 */
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import type { Task } from '../../src/tasks/model'
import { PRIORITIES } from '../../src/tasks/model'
import { SORT_FIELDS } from '../../src/tasks/requests'
import type { SignedIn } from '../helpers'

export interface Page {
  items: Task[]
  nextCursor: string | null
}

export const SORTS = SORT_FIELDS.flatMap((field) => [field, `-${field}`])
/** Timeout for tests that make hundreds of requests: well within it alone, not on a busy machine. */
export const MANY_REQUESTS = 60_000

export type Seed = Partial<Omit<Task, 'id' | 'completedAt' | 'version' | 'number'>>

export let clock = Date.UTC(2026, 0, 1)
/** The next instant of the seeding clock, a second after the last. */
export function tick(): string {
  clock += 1000
  return new Date(clock).toISOString()
}
/** Writes tasks for `userId` as given; by default each is created a second after the last. */
export async function insert(userId: string, seeds: Seed[]): Promise<Task[]> {
  const tasks = seeds.map((seed): Task => {
    const createdAt = seed.createdAt ?? tick()
    const completed = seed.completed ?? false
    return {
      id: crypto.randomUUID(),
      title: seed.title ?? 'A task',
      description: seed.description ?? '',
      completed,
      priority: seed.priority ?? 'medium',
      dueAt: seed.dueAt ?? null,
      tags: seed.tags ?? [],
      createdAt,
      updatedAt: seed.updatedAt ?? createdAt,
      completedAt: completed ? createdAt : null,
      // What the stored row starts at (migrations/0004_versions_and_sync.sql).
      version: 1,
      // The user's next number, taken by the INSERT below.
      number: 0,
      recurrence: null,
      timeZone: 'UTC',
      nextTaskId: null,
      nextTaskNumber: null,
      remindAt: seed.remindAt ?? null,
    }
  })
  if (tasks.length > 0) {
    const inserted = await env.DB.batch<{ number: number }>(
      tasks.map((t) =>
        env.DB.prepare(
          `INSERT INTO tasks (id, user_id, title, description, completed, priority, due_at, tags, created_at, updated_at, completed_at, remind_at, number)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, coalesce((SELECT last_number FROM task_counts WHERE user_id = ?2), 0) + 1)
           RETURNING number`,
        ).bind(
          t.id,
          userId,
          t.title,
          t.description,
          t.completed ? 1 : 0,
          t.priority,
          t.dueAt,
          JSON.stringify(t.tags),
          t.createdAt,
          t.updatedAt,
          t.completedAt,
          t.remindAt,
        ),
      ),
    )
    inserted.forEach((result, i) => {
      tasks[i]!.number = result.results[0]!.number
    })
  }
  return tasks
}

/** Every task of a listing, page after page, checking that each page keeps to its limit. */
export async function listAll(user: SignedIn, query: string, limit = 100): Promise<Task[]> {
  const all: Task[] = []
  let cursor: string | null = null
  do {
    const res: Response = await user.request(
      `/tasks?limit=${limit}${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`,
    )
    expect(res.status, query).toBe(200)
    const page: Page = await res.json()
    expect(page.items.length).toBeLessThanOrEqual(limit)
    all.push(...page.items)
    cursor = page.nextCursor
    expect(all.length, 'paging does not end').toBeLessThan(1000)
  } while (cursor)
  return all
}

export const titles = (tasks: Task[]) => tasks.map((t) => t.title)

// ----- The reference: what a listing must return, written independently of the SQL. -----

/** SQLite's NOCASE folds ASCII letters only; then it compares UTF-8 bytes, which is code point order. */
export const nocase = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase())
export function byCodePoint(a: string, b: string): number {
  const [x, y] = [[...a], [...b]]
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!
    if (d !== 0) return d
  }
  return x.length - y.length
}

export function referenceOrder(sort: string): (a: Task, b: Task) => number {
  const descending = sort.startsWith('-')
  const field = sort.replace(/^-/, '') as (typeof SORT_FIELDS)[number]
  const sign = descending ? -1 : 1
  return (a, b) => {
    if (field === 'dueAt' && (a.dueAt === null) !== (b.dueAt === null)) return a.dueAt === null ? 1 : -1
    // createdAt and updatedAt are the order of creation and of the last write (src/tasks/list-repo.ts,
    // SORTS), not of the timestamps seeded here: these tasks are written once, so both are their number.
    const value =
      field === 'priority'
        ? PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority)
        : field === 'title'
          ? byCodePoint(nocase(a.title), nocase(b.title))
          : field === 'dueAt'
            ? byCodePoint(a.dueAt ?? '', b.dueAt ?? '')
            : a.number - b.number
    return sign * (value !== 0 ? value : byCodePoint(a.id, b.id))
  }
}

export interface Filter {
  completed?: boolean
  priority?: Task['priority']
  tags?: string[]
  q?: string
  dueBefore?: string
  dueAfter?: string
  overdue?: boolean
}

export function referenceMatch(filter: Filter, now: string): (t: Task) => boolean {
  return (t) =>
    (filter.completed === undefined || t.completed === filter.completed) &&
    (filter.priority === undefined || t.priority === filter.priority) &&
    (filter.tags ?? []).every((tag) => t.tags.includes(tag)) &&
    (filter.q === undefined || [t.title, t.description].some((text) => nocase(text).includes(nocase(filter.q!)))) &&
    (filter.dueBefore === undefined || (t.dueAt !== null && t.dueAt < filter.dueBefore)) &&
    (filter.dueAfter === undefined || (t.dueAt !== null && t.dueAt >= filter.dueAfter)) &&
    (!filter.overdue || (!t.completed && t.dueAt !== null && t.dueAt < now))
}

export function queryString(sort: string, filter: Filter): string {
  const params = new URLSearchParams({ sort })
  if (filter.completed !== undefined) params.set('completed', String(filter.completed))
  if (filter.priority) params.set('priority', filter.priority)
  for (const tag of filter.tags ?? []) params.append('tag', tag)
  if (filter.q !== undefined) params.set('q', filter.q)
  if (filter.dueBefore) params.set('dueBefore', filter.dueBefore)
  if (filter.dueAfter) params.set('dueAfter', filter.dueAfter)
  if (filter.overdue) params.set('overdue', 'true')
  return params.toString()
}
