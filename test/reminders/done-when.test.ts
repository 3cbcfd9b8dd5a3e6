/**
 * The acceptance scenario, end to end: "every weekday at 9:00, Europe/Berlin, remind me 15
 * minutes before", completed on time, late and twice; a subscribed browser's push service
 * receiving one encrypted reminder at 8:45, which the test decrypts; and the same reminders read
 * back from the in-app inbox.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import worker from '../../src/index'
import type { Task } from '../../src/tasks/model'
import { request, signIn, tokenFor } from '../helpers'
import { browserSubscription, decryptPush } from '../push/decrypt'
import { chromeEndpoint, received, routePushToLoopback, vapidSecret } from '../push/service'

beforeEach(() => {
  routePushToLoopback()
  vi.useFakeTimers({ toFake: ['Date'] })
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

it('keeps a weekday 9:00 Berlin task at 9:00 through completions, and pushes each reminder once at 8:45', async () => {
  const pushEnv = { ...env, VAPID_PRIVATE_KEY: await vapidSecret(), VAPID_SUBJECT: 'mailto:ops@example.com' }
  const user = await signIn()
  /** The user's requests at `iso`, with a token signed then. */
  const at = async (iso: string) => {
    vi.setSystemTime(new Date(iso))
    const token = await tokenFor(user.id)
    return (path: string, options: Parameters<typeof request>[1] = {}) => request(path, { ...options, token })
  }
  const cron = async (iso: string) => {
    vi.setSystemTime(new Date(iso))
    const ctx = createExecutionContext()
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.parse(iso), cron: '* * * * *' }),
      pushEnv,
      ctx,
    )
    await waitOnExecutionContext(ctx)
  }
  const complete = async (iso: string, id: string) => {
    const res = await (await at(iso))(`/tasks/${id}`, { method: 'PATCH', body: { completed: true } })
    expect(res.status).toBe(200)
    const done = await res.json<Task>()
    return (await (await at(iso))(`/tasks/${done.nextTaskId}`)).json<Task>()
  }

  // Thursday 2027-03-25, 9:00 CET (08:00Z); summer time starts on Sunday the 28th.
  const send = await at('2027-03-24T12:00:00Z')
  const browser = await browserSubscription(chromeEndpoint())
  expect((await send('/me/push-subscriptions', { method: 'POST', body: browser.json, env: pushEnv })).status).toBe(201)
  const first = await (
    await send('/tasks', {
      method: 'POST',
      body: {
        title: 'Stand-up',
        dueAt: '2027-03-25T08:00:00Z',
        remindAt: '2027-03-25T07:45:00Z',
        timeZone: 'Europe/Berlin',
        recurrence: { frequency: 'weekly', weekdays: ['mo', 'tu', 'we', 'th', 'fr'] },
      },
    })
  ).json<Task>()

  await cron('2027-03-25T07:44:00Z')
  expect(await received(browser.json.endpoint)).toHaveLength(0)
  await cron('2027-03-25T07:45:00Z')
  await cron('2027-03-25T07:46:00Z')
  const pushes = await received(browser.json.endpoint)
  expect(pushes).toHaveLength(1)
  const payload = JSON.parse(
    new TextDecoder().decode(
      await decryptPush(pushes[0]!.bytes, { privateKey: browser.privateKey, keys: browser.json.keys }),
    ),
  )
  expect(payload).toEqual({
    taskId: first.id,
    title: 'Stand-up',
    dueAt: '2027-03-25T08:00:00.000Z',
    remindAt: '2027-03-25T07:45:00.000Z',
  })

  // On time: Friday 9:00 CET, reminded at 8:45.
  const friday = await complete('2027-03-25T08:05:00Z', first.id)
  expect([friday.dueAt, friday.remindAt]).toEqual(['2027-03-26T08:00:00.000Z', '2027-03-26T07:45:00.000Z'])
  // Late: Friday's, finished on Monday at 10:00 CEST, is followed by Tuesday 9:00 CEST.
  const tuesday = await complete('2027-03-29T08:00:00Z', friday.id)
  expect([tuesday.dueAt, tuesday.remindAt]).toEqual(['2027-03-30T07:00:00.000Z', '2027-03-30T06:45:00.000Z'])
  // Twice: one successor, Wednesday 9:00 CEST.
  const wednesday = await complete('2027-03-30T07:05:00Z', tuesday.id)
  const again = await complete('2027-03-30T07:06:00Z', tuesday.id)
  expect(again.id).toBe(wednesday.id)
  expect(wednesday.dueAt).toBe('2027-03-31T07:00:00.000Z')
  const { results } = await env.DB.prepare('SELECT count(*) AS n FROM tasks WHERE user_id = ?1').bind(user.id).all()
  expect(results).toEqual([{ n: 4 }])

  // Wednesday's reminder goes at 8:45 CEST, once.
  await cron('2027-03-31T06:44:00Z')
  await cron('2027-03-31T06:45:00Z')
  await cron('2027-03-31T06:46:00Z')
  const sent = await received(browser.json.endpoint)
  const reminded = await Promise.all(
    sent.map(async (push) => {
      const plaintext = await decryptPush(push.bytes, { privateKey: browser.privateKey, keys: browser.json.keys })
      return JSON.parse(new TextDecoder().decode(plaintext)).taskId
    }),
  )
  expect(reminded).toEqual([first.id, wednesday.id])

  // The same two reminders wait in the in-app inbox, newest first, on the main API and on /api.
  const read = await at('2027-03-31T06:50:00Z')
  const inbox = await (await read('/notifications')).json<{ items: { taskId: string; sentAt: string }[] }>()
  expect(inbox.items.map((n) => [n.taskId, n.sentAt])).toEqual([
    [wednesday.id, '2027-03-31T06:45:00.000Z'],
    [first.id, '2027-03-25T07:45:00.000Z'],
  ])
  const api = await (await read('/api/notifications?unread_only=true')).json<{ task_id: number; title: string }[]>()
  expect(api.map((n) => [n.task_id, n.title])).toEqual([
    [wednesday.number, 'Stand-up'],
    [first.number, 'Stand-up'],
  ])
})
