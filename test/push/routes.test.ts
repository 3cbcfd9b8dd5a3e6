import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { readVapid } from '../../src/push/vapid'
import { expectProblem, invalidNames, request, signIn } from '../helpers'
import { browserSubscription } from './decrypt'
import { chromeEndpoint, vapidSecret } from './service'

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
