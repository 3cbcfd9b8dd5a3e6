/**
 * GET /tasks: what each filter lists and what it refuses (see list-reference.ts for the seeding and
 * the reference the SQL is checked against).
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { invalidNames, type SignedIn, signIn } from '../helpers'
import { insert, listAll, referenceOrder, SORTS, titles } from './list-reference'

let user: SignedIn
beforeEach(async () => {
  user = await signIn()
})

describe('filters', () => {
  it('lists only the given priority', async () => {
    const tasks = await insert(user.id, [
      { title: 'l', priority: 'low' },
      { title: 'h', priority: 'high' },
      { title: 'h2', priority: 'high' },
    ])
    expect(titles(await listAll(user, 'priority=high'))).toEqual(['h2', 'h'])
    const high = tasks.filter((t) => t.priority === 'high').sort(referenceOrder('priority'))
    expect(titles(await listAll(user, 'priority=high&sort=priority', 1))).toEqual(titles(high))
    expect(titles(await listAll(user, 'priority=high&sort=-priority', 1))).toEqual(titles(high).reverse())
  })

  it('lists tasks that have all the given tags, matched exactly', async () => {
    await insert(user.id, [
      { title: 'work', tags: ['work'] },
      { title: 'work urgent', tags: ['urgent', 'work'] },
      { title: 'Work', tags: ['Work'] },
      { title: 'workshop', tags: ['workshop'] },
      { title: 'none' },
    ])
    expect(titles(await listAll(user, 'tag=work&sort=title'))).toEqual(['work', 'work urgent'])
    expect(titles(await listAll(user, 'tag=work&tag=urgent'))).toEqual(['work urgent'])
    expect(titles(await listAll(user, 'tag=urgent&tag=work&tag=work'))).toEqual(['work urgent'])
    expect(titles(await listAll(user, 'tag=Work'))).toEqual(['Work'])
    expect(await listAll(user, 'tag=wor')).toEqual([])
    expect(await listAll(user, 'tag=work&tag=missing')).toEqual([])
    // Stored tags are trimmed, so a query tag is too.
    expect(titles(await listAll(user, 'tag=%20urgent%20'))).toEqual(['work urgent'])
  })

  it('matches tags holding quotes, wildcards and backslashes literally', async () => {
    const odd = ['50%', 'a_b', '"quoted"', "it's", 'back\\slash', '[1]', '$.x']
    await insert(user.id, [
      ...odd.map((tag) => ({ title: tag, tags: [tag] })),
      { title: 'decoy', tags: ['500', 'axb', 'quoted', 'its'] },
    ])
    for (const tag of odd) expect(titles(await listAll(user, `tag=${encodeURIComponent(tag)}`)), tag).toEqual([tag])
  })

  it('finds q in the title or the description, ignoring ASCII case', async () => {
    await insert(user.id, [
      { title: 'Buy MILK' },
      { title: 'call mum', description: 'about the milkman' },
      { title: 'bread' },
    ])
    expect(titles(await listAll(user, 'q=milk&sort=title'))).toEqual(['Buy MILK', 'call mum'])
    expect(titles(await listAll(user, 'q=MiLk&sort=title'))).toEqual(['Buy MILK', 'call mum'])
    expect(titles(await listAll(user, 'q=y%20m'))).toEqual(['Buy MILK'])
    expect(await listAll(user, 'q=cheese')).toEqual([])
  })

  it('finds %, _ and \\ in q as literal text, not as wildcards', async () => {
    await insert(user.id, [
      { title: 'save 50% now' },
      { title: 'save 500 now' },
      { title: 'snake_case' },
      { title: 'snakeXcase' },
      { title: 'C:\\temp' },
      { title: 'C:temp' },
      { title: 'plain', description: '100%' },
    ])
    expect(titles(await listAll(user, `q=${encodeURIComponent('50%')}`))).toEqual(['save 50% now'])
    expect(titles(await listAll(user, `q=${encodeURIComponent('%')}&sort=title`))).toEqual(['plain', 'save 50% now'])
    expect(titles(await listAll(user, 'q=e_c'))).toEqual(['snake_case'])
    expect(titles(await listAll(user, 'q=_'))).toEqual(['snake_case'])
    expect(titles(await listAll(user, `q=${encodeURIComponent(':\\')}`))).toEqual(['C:\\temp'])
    expect(titles(await listAll(user, `q=${encodeURIComponent('\\')}`))).toEqual(['C:\\temp'])
    expect(titles(await listAll(user, `q=${encodeURIComponent('\\%')}`))).toEqual([])
  })

  it('finds q of any allowed length and script, matching non-ASCII letters exactly', async () => {
    const long = 'x'.repeat(99)
    const emoji = '🍎'.repeat(100)
    const wild = '%_\\'.repeat(33)
    await insert(user.id, [
      { title: `a${long}b` },
      { title: emoji },
      { title: wild.slice(0, 99) },
      { title: 'Äpfel kaufen' },
      { title: 'äpfel schälen' },
    ])
    // D1 refuses LIKE patterns over 50 bytes: each of these was a 503 when q was a LIKE pattern.
    expect(titles(await listAll(user, `q=${long}`))).toEqual([`a${long}b`])
    expect(titles(await listAll(user, `q=${encodeURIComponent(emoji)}`))).toEqual([emoji])
    expect(titles(await listAll(user, `q=${encodeURIComponent(wild.slice(0, 99))}`))).toEqual([wild.slice(0, 99)])
    // Case is folded for ASCII letters only, on both sides alike.
    expect(titles(await listAll(user, `q=${encodeURIComponent('Äpfel')}`))).toEqual(['Äpfel kaufen'])
    expect(titles(await listAll(user, `q=${encodeURIComponent('äPFEL')}`))).toEqual(['äpfel schälen'])
  })

  it('refuses a NUL in q, naming it, instead of matching everything', async () => {
    await insert(user.id, [{ title: 'anything' }])
    for (const q of ['%00', 'a%00b']) {
      const res = await user.request(`/tasks?q=${q}`)
      expect(res.status, q).toBe(400)
      expect(invalidNames(await res.json()), q).toEqual(['q'])
    }
  })

  it('lists due dates in [dueAfter, dueBefore), comparing instants whatever the offset, without undated tasks', async () => {
    await insert(user.id, [
      { title: 'jan', dueAt: '2026-01-15T00:00:00.000Z' },
      { title: 'feb', dueAt: '2026-02-01T00:00:00.000Z' },
      { title: 'mar', dueAt: '2026-03-01T00:00:00.000Z' },
      { title: 'undated' },
    ])
    for (const sort of ['dueAt', '-dueAt', 'title']) {
      const list = async (q: string) => titles(await listAll(user, `${q}&sort=${sort}`)).sort()
      expect(await list('dueBefore=2026-02-01T00:00:00Z')).toEqual(['jan'])
      expect(await list('dueAfter=2026-02-01T00:00:00Z')).toEqual(['feb', 'mar'])
      expect(await list('dueAfter=2026-02-01T00:00:00Z&dueBefore=2026-03-01T00:00:00Z')).toEqual(['feb'])
      // 01:00 at +01:00 is midnight UTC.
      expect(await list('dueBefore=2026-02-01T01:00:00%2B01:00')).toEqual(['jan'])
      expect(await list('dueAfter=2026-03-01T00:00:00.001Z')).toEqual([])
      expect(await list('dueAfter=2026-03-01T00:00:00Z&dueBefore=2026-01-01T00:00:00Z')).toEqual([])
    }
  })

  it('lists as overdue only open tasks due before now', async () => {
    const past = new Date(Date.now() - 60_000).toISOString()
    const future = new Date(Date.now() + 3_600_000).toISOString()
    await insert(user.id, [
      { title: 'late', dueAt: past },
      { title: 'late but done', dueAt: past, completed: true },
      { title: 'not yet', dueAt: future },
      { title: 'no due date' },
    ])
    for (const sort of ['-createdAt', 'dueAt', '-dueAt', 'title']) {
      expect(titles(await listAll(user, `overdue=true&sort=${sort}`)), sort).toEqual(['late'])
    }
    expect(titles(await listAll(user, 'overdue=true&completed=false'))).toEqual(['late'])
  })

  it('combines filters: every one must hold', async () => {
    await insert(user.id, [
      { title: 'match', priority: 'high', tags: ['a', 'b'], description: 'needle', dueAt: '2026-02-01T00:00:00.000Z' },
      { title: 'low', priority: 'low', tags: ['a', 'b'], description: 'needle', dueAt: '2026-02-01T00:00:00.000Z' },
      { title: 'one tag', priority: 'high', tags: ['a'], description: 'needle', dueAt: '2026-02-01T00:00:00.000Z' },
      { title: 'no text', priority: 'high', tags: ['a', 'b'], dueAt: '2026-02-01T00:00:00.000Z' },
      { title: 'late', priority: 'high', tags: ['a', 'b'], description: 'needle', dueAt: '2026-05-01T00:00:00.000Z' },
      {
        title: 'done',
        priority: 'high',
        tags: ['a', 'b'],
        description: 'needle',
        dueAt: '2026-02-01T00:00:00.000Z',
        completed: true,
      },
    ])
    const query = 'priority=high&tag=a&tag=b&q=NEEDLE&dueBefore=2026-03-01T00:00:00Z&completed=false'
    for (const sort of SORTS) expect(titles(await listAll(user, `${query}&sort=${sort}`)), sort).toEqual(['match'])
  })
})
