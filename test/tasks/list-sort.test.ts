/**
 * GET /tasks: each sort, in both directions, and the keyset cursor through it (see list-reference.ts
 * for the seeding and the reference the SQL is checked against).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { base64url, expectProblem, fromBase64url, invalidNames, type SignedIn, signIn } from '../helpers'
import { insert, listAll, MANY_REQUESTS, nocase, type Page, referenceOrder, SORTS, titles } from './list-reference'

let user: SignedIn
beforeEach(async () => {
  user = await signIn()
})

describe('sort', () => {
  it('orders by due date with tasks that have none last, in both directions, ties by id', async () => {
    const tasks = await insert(user.id, [
      { title: 'may', dueAt: '2026-05-01T00:00:00.000Z' },
      { title: 'none 1' },
      { title: 'april 1', dueAt: '2026-04-01T00:00:00.000Z' },
      { title: 'none 2' },
      { title: 'april 2', dueAt: '2026-04-01T00:00:00.000Z' },
    ])
    const [aprilFirst, aprilSecond] = tasks
      .filter((t) => t.title.startsWith('april'))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
    const [noneFirst, noneSecond] = tasks.filter((t) => t.dueAt === null).sort((a, b) => (a.id < b.id ? -1 : 1))
    expect(titles(await listAll(user, 'sort=dueAt'))).toEqual(
      titles([aprilFirst!, aprilSecond!, tasks[0]!, noneFirst!, noneSecond!]),
    )
    expect(titles(await listAll(user, 'sort=-dueAt'))).toEqual(
      titles([tasks[0]!, aprilSecond!, aprilFirst!, noneSecond!, noneFirst!]),
    )
  })

  it('orders priorities by rank, not alphabetically', async () => {
    await insert(user.id, [
      { title: 'l', priority: 'low' },
      { title: 'h', priority: 'high' },
      { title: 'm', priority: 'medium' },
    ])
    expect(titles(await listAll(user, 'sort=priority'))).toEqual(['l', 'm', 'h'])
    expect(titles(await listAll(user, 'sort=-priority'))).toEqual(['h', 'm', 'l'])
  })

  it('orders titles ignoring the case of ASCII letters, equal ones by id, other letters by code point', async () => {
    // Case-sensitively, Cherry would come before apple.
    const tasks = await insert(user.id, [
      { title: 'banana' },
      { title: 'Apple' },
      { title: 'Cherry' },
      { title: 'apple' },
      { title: 'Äpfel' },
    ])
    const apples = tasks.filter((t) => nocase(t.title) === 'apple').sort((a, b) => (a.id < b.id ? -1 : 1))
    expect(titles(await listAll(user, 'sort=title'))).toEqual([...titles(apples), 'banana', 'Cherry', 'Äpfel'])
    expect(titles(await listAll(user, 'sort=-title'))).toEqual([
      'Äpfel',
      'Cherry',
      'banana',
      ...titles(apples).reverse(),
    ])
  })

  it('orders by creation and by last write both ways; newest created first by default', async () => {
    const tasks = await insert(user.id, [
      { title: 'first, updated last' },
      { title: 'second' },
      { title: 'third, updated first' },
    ])
    for (const task of [...tasks].reverse()) {
      expect((await user.request(`/tasks/${task.id}`, { method: 'PATCH', body: { title: task.title } })).status).toBe(
        200,
      )
    }
    const created = ['first, updated last', 'second', 'third, updated first']
    expect(titles(await listAll(user, ''))).toEqual([...created].reverse())
    expect(titles(await listAll(user, 'sort=-createdAt'))).toEqual([...created].reverse())
    expect(titles(await listAll(user, 'sort=createdAt'))).toEqual(created)
    expect(titles(await listAll(user, 'sort=updatedAt'))).toEqual([...created].reverse())
    expect(titles(await listAll(user, 'sort=-updatedAt'))).toEqual(created)
  })

  it(
    'pages through long runs of equal values and missing due dates without skipping or repeating',
    async () => {
      const tasks = await insert(
        user.id,
        Array.from({ length: 23 }, (_, i) => ({
          title: i % 2 ? 'Same' : 'same',
          priority: 'high' as const,
          createdAt: '2026-03-01T00:00:00.000Z',
          updatedAt: '2026-03-01T00:00:00.000Z',
          dueAt: i % 3 ? null : '2026-04-01T00:00:00.000Z',
        })),
      )
      for (const sort of SORTS) {
        for (const limit of [2, 5]) {
          const ids = (await listAll(user, `sort=${sort}`, limit)).map((t) => t.id)
          expect(ids, `${sort}, limit ${limit}`).toEqual([...tasks].sort(referenceOrder(sort)).map((t) => t.id))
        }
      }
    },
    MANY_REQUESTS,
  )

  it('keeps its place while the task the cursor points at is deleted and others are added', async () => {
    const tasks = await insert(
      user.id,
      Array.from({ length: 9 }, (_, i) => ({
        title: `t${i % 3}`,
        dueAt: i % 2 ? null : `2026-0${1 + (i % 4)}-01T00:00:00.000Z`,
      })),
    )
    for (const sort of ['title', '-dueAt', 'dueAt']) {
      const first = await (await user.request(`/tasks?limit=4&sort=${sort}`)).json<Page>()
      const expected = [...tasks].sort(referenceOrder(sort))
      const pointedAt = expected[4]!
      await user.request(`/tasks/${pointedAt.id}`, { method: 'DELETE' })
      const rest = await listAll(user, `sort=${sort}&cursor=${first.nextCursor}`, 100)
      expect(
        rest.map((t) => t.id),
        sort,
      ).toEqual(expected.slice(5).map((t) => t.id))
      tasks.splice(tasks.indexOf(pointedAt), 1)
    }
  })
})

describe('cursor', () => {
  async function cursorFor(query: string): Promise<string> {
    // Three tasks that every listing below shows, so that the first page of one has a cursor.
    const matching = { priority: 'low' as const, tags: ['x', 'y'], dueAt: '2026-01-01T00:00:00.000Z' }
    await insert(user.id, [
      { title: 'a1', ...matching },
      { title: 'a2', ...matching },
      { title: 'a3', ...matching },
    ])
    const { nextCursor } = await (await user.request(`/tasks?limit=1&${query}`)).json<Page>()
    expect(nextCursor).toEqual(expect.any(String))
    return nextCursor!
  }

  async function expectCursorRefused(query: string) {
    const problem = await expectProblem(await user.request(`/tasks?${query}`), 400)
    expect(invalidNames(problem), query).toEqual(['cursor'])
  }

  it('is refused under any other sort, direction included', async () => {
    const cursor = await cursorFor('sort=title')
    for (const sort of SORTS.filter((s) => s !== 'title')) await expectCursorRefused(`sort=${sort}&cursor=${cursor}`)
    await expectCursorRefused(`cursor=${cursor}`)
    expect((await user.request(`/tasks?sort=title&cursor=${cursor}`)).status).toBe(200)
  })

  it('is refused under any other filter, and accepted with the same tags in another order', async () => {
    const base = 'sort=dueAt&tag=x&tag=y&q=a&priority=low&dueBefore=2027-01-01T00:00:00Z'
    const cursor = await cursorFor(base)
    for (const changed of [
      'sort=dueAt&tag=x&q=a&priority=low&dueBefore=2027-01-01T00:00:00Z',
      'sort=dueAt&tag=x&tag=y&tag=z&q=a&priority=low&dueBefore=2027-01-01T00:00:00Z',
      'sort=dueAt&tag=x&tag=y&q=A&priority=low&dueBefore=2027-01-01T00:00:00Z',
      'sort=dueAt&tag=x&tag=y&priority=low&dueBefore=2027-01-01T00:00:00Z',
      'sort=dueAt&tag=x&tag=y&q=a&priority=high&dueBefore=2027-01-01T00:00:00Z',
      'sort=dueAt&tag=x&tag=y&q=a&priority=low&dueBefore=2027-01-02T00:00:00Z',
      'sort=dueAt&tag=x&tag=y&q=a&priority=low&dueBefore=2027-01-01T00:00:00Z&dueAfter=2020-01-01T00:00:00Z',
      'sort=dueAt&tag=x&tag=y&q=a&priority=low&dueBefore=2027-01-01T00:00:00Z&overdue=true',
      'sort=dueAt&tag=x&tag=y&q=a&priority=low&dueBefore=2027-01-01T00:00:00Z&completed=false',
    ]) {
      await expectCursorRefused(`${changed}&cursor=${cursor}`)
    }
    // The same filters, written differently: tags in another order, the date with an offset.
    const same = 'sort=dueAt&tag=y&tag=x&q=a&priority=low&dueBefore=2027-01-01T01:00:00%2B01:00'
    expect((await user.request(`/tasks?${same}&cursor=${cursor}`)).status).toBe(200)
  })

  it('is refused when its value does not fit the sort, or it is otherwise tampered with', async () => {
    const forge = (cursor: string, change: (json: Record<string, unknown>) => unknown) =>
      base64url(
        JSON.stringify(change(JSON.parse(new TextDecoder().decode(fromBase64url(cursor))) as Record<string, unknown>)),
      )
    const cases: [string, (json: Record<string, unknown>) => unknown][] = [
      ['sort=createdAt', (j) => ({ ...j, v: 'yesterday' })],
      ['sort=createdAt', (j) => ({ ...j, v: null })],
      ['sort=createdAt', (j) => ({ ...j, v: 0 })],
      ['sort=createdAt', (j) => ({ ...j, v: 1.5 })],
      ['sort=-updatedAt', (j) => ({ ...j, v: -1 })],
      ['sort=-updatedAt', (j) => ({ ...j, v: '2026-01-01T00:00:00Z' })],
      ['sort=dueAt', (j) => ({ ...j, v: 1767225600000 })],
      ['sort=-dueAt', (j) => ({ ...j, v: '~' })],
      ['sort=priority', (j) => ({ ...j, v: 'urgent' })],
      ['sort=priority', (j) => ({ ...j, v: 2 })],
      ['sort=title', (j) => ({ ...j, v: '' })],
      ['sort=title', (j) => ({ ...j, v: 'x'.repeat(201) })],
      ['sort=title', (j) => ({ ...j, v: ['a'] })],
      ['sort=title', (j) => ({ ...j, i: "' OR 1=1 --" })],
      ['sort=title', (j) => ({ ...j, i: undefined })],
      ['sort=title', (j) => ({ ...j, k: undefined })],
      ['sort=title', () => null],
      ['sort=title', () => 'a string'],
    ]
    for (const [query, change] of cases) {
      const cursor = await cursorFor(query)
      await expectCursorRefused(`${query}&cursor=${forge(cursor, change)}`)
    }
    for (const raw of [
      'not base64!',
      base64url('{"v":'),
      base64url(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])),
      'A'.repeat(2049),
    ]) {
      await expectCursorRefused(`sort=title&cursor=${encodeURIComponent(raw)}`)
    }
  })

  it('carries titles in any script, and the longest, through the URL', async () => {
    const long = '😀"\\\u0001'.repeat(50)
    await insert(user.id, [{ title: long }, { title: `${long.slice(0, -2)}é` }, { title: 'a' }])
    const all = await listAll(user, 'sort=-title', 1)
    expect(all).toHaveLength(3)
  })

  it("moves only within the caller's tasks when another user's cursor is replayed", async () => {
    const other = await signIn()
    await insert(other.id, [{ title: 'a0 other' }, { title: 'a2 other' }, { title: 'b other' }])
    const cursor = await cursorFor('sort=title')
    const items = await listAll(other, `sort=title&cursor=${cursor}`)
    expect(titles(items)).toEqual(['a2 other', 'b other'])
  })
})
