import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { readVapid } from '../../src/push/vapid'
import { type ReminderEnv, sendDueReminders } from '../../src/reminders/job'
import { expectProblem, invalidNames, request, type SignedIn, signIn } from '../helpers'
import { browserSubscription, decryptPush } from './decrypt'
import { chromeEndpoint, received, routePushToLoopback, vapidSecret } from './service'

let pushOn: Partial<Env>

beforeAll(async () => {
  pushOn = { VAPID_PRIVATE_KEY: await vapidSecret(), VAPID_SUBJECT: 'mailto:ops@example.com' } as Partial<Env>
})

const stored = (userId: string) =>
  env.DB.prepare('SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = ?1 ORDER BY created_at, id')
    .bind(userId)
    .all<{ endpoint: string; p256dh: string; auth: string }>()
    .then((r) => r.results)

describe('GET /push/public-key', () => {
  it('serves the VAPID application server key without a token', async () => {
    const res = await request('/push/public-key', { env: pushOn })
    expect(res.status).toBe(200)
    const setting = readVapid(pushOn.VAPID_PRIVATE_KEY as string, 'mailto:ops@example.com')
    expect(await res.json()).toEqual({ publicKey: 'vapid' in setting ? setting.vapid.publicKey : 'none' })
  })

  it('says push is off when VAPID is not configured', async () => {
    const problem = await expectProblem(await request('/push/public-key'), 404)
    expect(problem.type).toBe('/problems/push-disabled')
  })
})

describe('/me/push-subscriptions', () => {
  it('stores a browser subscription, lists it, and renews its keys when the browser subscribes again', async () => {
    const user = await signIn()
    const browser = await browserSubscription(chromeEndpoint())
    const res = await user.request('/me/push-subscriptions', { method: 'POST', body: browser.json, env: pushOn })
    expect(res.status).toBe(201)
    const created = await res.json<{ id: string; endpoint: string; createdAt: string }>()
    expect(created).toEqual({ id: expect.any(String), endpoint: browser.json.endpoint, createdAt: expect.any(String) })
    expect(await stored(user.id)).toEqual([{ endpoint: browser.json.endpoint, ...browser.json.keys }])

    const list = await user.request('/me/push-subscriptions', { env: pushOn })
    expect(await list.json()).toEqual({ items: [created] })

    const renewed = await browserSubscription(browser.json.endpoint)
    const again = await user.request('/me/push-subscriptions', { method: 'POST', body: renewed.json, env: pushOn })
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual(created)
    expect(await stored(user.id)).toEqual([{ endpoint: browser.json.endpoint, ...renewed.json.keys }])
  })

  it('refuses a body in another charset (415) or not in UTF-8 (400), as every JSON body, and stores nothing', async () => {
    const user = await signIn()
    const browser = await browserSubscription(chromeEndpoint())
    const text = JSON.stringify(browser.json)
    const latin1 = new TextEncoder().encode(text)
    // The auth key's first character as ISO-8859-1's é (0xE9): not UTF-8.
    const at = text.indexOf(browser.json.keys.auth)
    const notUtf8 = new Uint8Array([...latin1.slice(0, at), 0xe9, ...latin1.slice(at + 1)])
    const send = (body: Uint8Array, contentType: string) =>
      user.request('/me/push-subscriptions', {
        method: 'POST',
        body: new Blob([body]).stream(),
        headers: { 'Content-Type': contentType },
        env: pushOn,
      })
    const charset = await expectProblem(await send(latin1, 'application/json; charset=iso-8859-1'), 415)
    expect(charset.detail).toMatch(/UTF-8/)
    const bytes = await expectProblem(await send(notUtf8, 'application/json'), 400)
    expect(bytes.detail).toMatch(/UTF-8/)
    expect(await stored(user.id)).toEqual([])
    expect((await send(latin1, 'application/json; charset=utf-8')).status).toBe(201)
  })

  it.each([
    'https://push.attacker.example/x',
    'http://fcm.googleapis.com/fcm/send/x',
    'https://fcm.googleapis.com:8443/fcm/send/x',
    'https://fcm.googleapis.com.attacker.example/x',
    'https://127.0.0.1/x',
    'https://169.254.169.254/latest/meta-data',
  ])('refuses the endpoint %s with 422 and stores nothing', async (endpoint) => {
    const user = await signIn()
    const browser = await browserSubscription(endpoint)
    const res = await user.request('/me/push-subscriptions', { method: 'POST', body: browser.json, env: pushOn })
    expect((await expectProblem(res, 422)).type).toBe('/problems/push-endpoint-refused')
    expect(await stored(user.id)).toEqual([])
  })

  it('takes the hosts PUSH_SERVICE_HOSTS names instead of the defaults', async () => {
    const user = await signIn()
    const own = { ...pushOn, PUSH_SERVICE_HOSTS: 'push.example.net' } as Partial<Env>
    const ok = await browserSubscription('https://push.example.net/s/1')
    expect((await user.request('/me/push-subscriptions', { method: 'POST', body: ok.json, env: own })).status).toBe(201)
    const chrome = await browserSubscription(chromeEndpoint())
    await expectProblem(
      await user.request('/me/push-subscriptions', { method: 'POST', body: chrome.json, env: own }),
      422,
    )
  })

  it('refuses keys that are not a P-256 point and a 16-byte secret with 400, storing nothing', async () => {
    const user = await signIn()
    const browser = await browserSubscription(chromeEndpoint())
    const offCurve = `B${'A'.repeat(86)}`
    for (const keys of [
      { ...browser.json.keys, p256dh: offCurve },
      { ...browser.json.keys, p256dh: browser.json.keys.p256dh.slice(1) },
      { ...browser.json.keys, auth: 'short' },
      { p256dh: browser.json.keys.p256dh },
    ]) {
      const res = await user.request('/me/push-subscriptions', {
        method: 'POST',
        body: { ...browser.json, keys },
        env: pushOn,
      })
      await expectProblem(res, 400)
    }
    expect(await stored(user.id)).toEqual([])
  })

  it('refuses an eleventh subscription with 409, and still renews one of the ten', async () => {
    const user = await signIn()
    const browsers = []
    for (let i = 0; i < 10; i++) {
      const browser = await browserSubscription(chromeEndpoint())
      browsers.push(browser)
      expect(
        (await user.request('/me/push-subscriptions', { method: 'POST', body: browser.json, env: pushOn })).status,
      ).toBe(201)
    }
    const eleventh = await browserSubscription(chromeEndpoint())
    const res = await user.request('/me/push-subscriptions', { method: 'POST', body: eleventh.json, env: pushOn })
    expect((await expectProblem(res, 409)).type).toBe('/problems/push-subscription-limit')
    expect(await stored(user.id)).toHaveLength(10)
    const renewed = await user.request('/me/push-subscriptions', {
      method: 'POST',
      body: browsers[0]!.json,
      env: pushOn,
    })
    expect(renewed.status).toBe(200)
  })

  it("does not show or delete another user's subscription", async () => {
    const [owner, other] = [await signIn(), await signIn()]
    const browser = await browserSubscription(chromeEndpoint())
    await owner.request('/me/push-subscriptions', { method: 'POST', body: browser.json, env: pushOn })

    expect(await (await other.request('/me/push-subscriptions', { env: pushOn })).json()).toEqual({ items: [] })
    const path = `/me/push-subscriptions?endpoint=${encodeURIComponent(browser.json.endpoint)}`
    await expectProblem(await other.request(path, { method: 'DELETE', env: pushOn }), 404)
    expect(await stored(owner.id)).toHaveLength(1)

    expect((await owner.request(path, { method: 'DELETE', env: pushOn })).status).toBe(204)
    expect(await stored(owner.id)).toEqual([])
    await expectProblem(await owner.request(path, { method: 'DELETE', env: pushOn }), 404)
  })

  describe('a browser belongs to the account that subscribed it last', () => {
    const subscribe = (user: SignedIn, body: unknown) =>
      user.request('/me/push-subscriptions', { method: 'POST', body, env: pushOn })

    it('moves the endpoint to the subscribing account: the other loses it, and its reminders stop reaching the browser', async () => {
      const [first, second] = [await signIn(), await signIn()]
      const browser = await browserSubscription(chromeEndpoint())
      expect((await subscribe(first, browser.json)).status).toBe(201)
      // The second account signs in on the same browser, which subscribes again with its own keys.
      const again = await browserSubscription(browser.json.endpoint)
      expect((await subscribe(second, again.json)).status).toBe(201)

      expect(await stored(first.id)).toEqual([])
      expect(await stored(second.id)).toEqual([{ endpoint: browser.json.endpoint, ...again.json.keys }])
      expect(await (await first.request('/me/push-subscriptions', { env: pushOn })).json()).toEqual({ items: [] })
      // Moving back works the same way.
      expect((await subscribe(first, browser.json)).status).toBe(201)
      expect(await stored(second.id)).toEqual([])
      expect(await stored(first.id)).toEqual([{ endpoint: browser.json.endpoint, ...browser.json.keys }])
    })

    it('tells the subscriber nothing about the account that had the browser: the answer is that of a new endpoint', async () => {
      const [first, second] = [await signIn(), await signIn()]
      const taken = await browserSubscription(chromeEndpoint())
      const firstsRes = await subscribe(first, taken.json)
      const firsts = await firstsRes.json<{ id: string; createdAt: string }>()
      const fresh = await browserSubscription(chromeEndpoint())

      const moved = await subscribe(second, (await browserSubscription(taken.json.endpoint)).json)
      const created = await subscribe(second, fresh.json)
      expect([moved.status, created.status]).toEqual([201, 201])
      const [movedBody, createdBody] = [await moved.json<{ id: string }>(), await created.json<{ id: string }>()]
      expect(Object.keys(movedBody).sort()).toEqual(Object.keys(createdBody).sort())
      expect(movedBody).toEqual({
        id: expect.any(String),
        endpoint: taken.json.endpoint,
        createdAt: expect.any(String),
      })
      // A new subscription of its own: not the other account's id or creation time.
      expect(movedBody.id).not.toBe(firsts.id)
      expect(moved.headers.get('Location')).toBe(created.headers.get('Location'))
    })

    it('removes only that exact endpoint from the other account: its other browsers and their retries stay', async () => {
      const [owner, other] = [await signIn(), await signIn()]
      const shared = await browserSubscription(chromeEndpoint())
      const endpoints = [
        `${shared.json.endpoint}x`,
        shared.json.endpoint.slice(0, -1),
        shared.json.endpoint.replace('/fcm/send/', '/FCM/send/'),
        chromeEndpoint(),
      ]
      for (const endpoint of [shared.json.endpoint, ...endpoints]) {
        const res = await subscribe(owner, { ...shared.json, endpoint })
        expect(res.status).toBe(201)
      }
      const task = await owner.createTask({ remindAt: '2099-01-01T00:00:00.000Z' })
      const ids = (
        await env.DB.prepare('SELECT id, endpoint FROM push_subscriptions WHERE user_id = ?1')
          .bind(owner.id)
          .all<{ id: string; endpoint: string }>()
      ).results
      await env.DB.batch(
        ids.map(({ id }) =>
          env.DB.prepare(
            'INSERT INTO push_retries (task_id, subscription_id, user_id, first_tried_at) VALUES (?1, ?2, ?3, ?4)',
          ).bind(task.id, id, owner.id, new Date().toISOString()),
        ),
      )

      expect((await subscribe(other, shared.json)).status).toBe(201)
      expect((await stored(owner.id)).map((s) => s.endpoint).sort()).toEqual([...endpoints].sort())
      const retries = await env.DB.prepare(
        'SELECT s.endpoint FROM push_retries AS r JOIN push_subscriptions AS s ON s.id = r.subscription_id WHERE r.user_id = ?1',
      )
        .bind(owner.id)
        .all<{ endpoint: string }>()
      expect(retries.results.map((r) => r.endpoint).sort()).toEqual([...endpoints].sort())
    })

    it('changes nothing when the subscribing account is at its limit: the other account keeps the browser', async () => {
      const [owner, full] = [await signIn(), await signIn()]
      const browser = await browserSubscription(chromeEndpoint())
      expect((await subscribe(owner, browser.json)).status).toBe(201)
      for (let i = 0; i < 10; i++) {
        expect((await subscribe(full, (await browserSubscription(chromeEndpoint())).json)).status).toBe(201)
      }
      const before = await stored(full.id)
      const res = await subscribe(full, browser.json)
      expect((await expectProblem(res, 409)).type).toBe('/problems/push-subscription-limit')
      expect(await stored(owner.id)).toEqual([{ endpoint: browser.json.endpoint, ...browser.json.keys }])
      expect(await stored(full.id)).toEqual(before)
    })

    it('sends the browser only the reminders of the account it belongs to now', async () => {
      const [first, second] = [await signIn(), await signIn()]
      const browser = await browserSubscription(chromeEndpoint())
      await subscribe(first, browser.json)
      await subscribe(second, browser.json)
      const at = Date.parse('2036-06-01T00:00:00.000Z')
      for (const user of [first, second]) {
        await user.createTask({ title: `for ${user.id}`, remindAt: new Date(at - 1000).toISOString() })
      }
      routePushToLoopback()
      try {
        await sendDueReminders({ DB: env.DB, ...pushOn } as ReminderEnv, at)
      } finally {
        vi.restoreAllMocks()
      }
      const pushes = await received(browser.json.endpoint)
      expect(pushes).toHaveLength(1)
      const payload = JSON.parse(
        new TextDecoder().decode(
          await decryptPush(pushes[0]!.bytes, { privateKey: browser.privateKey, keys: browser.json.keys }),
        ),
      )
      expect(payload.title).toBe(`for ${second.id}`)
    })
  })

  it('takes the owner from the token only: a user_id in the body is refused and nothing is stored', async () => {
    const user = await signIn()
    const victim = await signIn()
    const browser = await browserSubscription(chromeEndpoint())
    const res = await user.request('/me/push-subscriptions', {
      method: 'POST',
      body: { ...browser.json, user_id: victim.id },
      env: pushOn,
    })
    expect(invalidNames(await expectProblem(res, 400))).toEqual(['#/user_id'])
    expect(await stored(user.id)).toEqual([])
    expect(await stored(victim.id)).toEqual([])
  })

  it('requires a token', async () => {
    const browser = await browserSubscription(chromeEndpoint())
    await expectProblem(
      await request('/me/push-subscriptions', { method: 'POST', body: browser.json, env: pushOn }),
      401,
    )
    await expectProblem(await request('/me/push-subscriptions'), 401)
  })

  it('says push is off when subscribing without VAPID configured, and stores nothing', async () => {
    const user = await signIn()
    const browser = await browserSubscription(chromeEndpoint())
    const res = await user.request('/me/push-subscriptions', { method: 'POST', body: browser.json })
    expect((await expectProblem(res, 404)).type).toBe('/problems/push-disabled')
    expect(await stored(user.id)).toEqual([])
  })
})
