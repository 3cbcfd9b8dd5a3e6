import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_PUSH_SERVICE_HOSTS, isAllowedEndpoint, parsePushServiceHosts } from '../../src/push/endpoint'
import { sendPush } from '../../src/push/send'
import { readVapid } from '../../src/push/vapid'
import { nowSeconds } from '../helpers'
import { browserSubscription, decryptPush, verifyVapid } from './decrypt'
import { chromeEndpoint, received, routePushToLoopback, vapidSecret } from './service'

const SUBJECT = 'mailto:ops@example.com'

async function vapid() {
  const setting = readVapid(await vapidSecret(), SUBJECT)
  if (!('vapid' in setting)) throw new Error(setting.off)
  return setting.vapid
}

beforeEach(() => {
  routePushToLoopback()
})
afterEach(() => vi.restoreAllMocks())

describe('sendPush', () => {
  it('delivers a message the subscription decrypts, signed by a VAPID JWT for the push service', async () => {
    const keys = await vapid()
    const browser = await browserSubscription(chromeEndpoint())
    const payload = { taskId: 'abc', number: 7, title: 'Water the plants', dueAt: null, remindAt: null }

    expect(await sendPush(browser.json, payload, keys, { ttl: 3600, urgency: 'high' })).toEqual({
      outcome: 'sent',
      status: 201,
    })

    const [push, ...more] = await received(browser.json.endpoint)
    expect(more).toEqual([])
    expect(push?.method).toBe('POST')
    expect(push?.headers).toMatchObject({ 'content-encoding': 'aes128gcm', ttl: '3600', urgency: 'high' })
    const plaintext = await decryptPush(push!.bytes, { privateKey: browser.privateKey, keys: browser.json.keys })
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(payload)

    const { claims, key } = await verifyVapid(push!.headers.authorization ?? null)
    expect(key).toBe(keys.publicKey)
    expect(claims.aud).toBe('https://fcm.googleapis.com')
    expect(claims.sub).toBe(SUBJECT)
    expect(claims.exp).toBeGreaterThan(nowSeconds())
    expect(claims.exp).toBeLessThanOrEqual(nowSeconds() + 24 * 3600)
  })

  it('does not decrypt for another subscription: the message is encrypted to the one it was sent to', async () => {
    const keys = await vapid()
    const browser = await browserSubscription(chromeEndpoint())
    const other = await browserSubscription(chromeEndpoint())
    await sendPush(browser.json, { hello: 'world' }, keys, { ttl: 60, urgency: 'high' })
    const [push] = await received(browser.json.endpoint)
    await expect(decryptPush(push!.bytes, { privateKey: other.privateKey, keys: other.json.keys })).rejects.toThrow()
  })

  it.each([
    [410, 'gone'],
    [404, 'gone'],
    [429, 'retry'],
    [503, 'retry'],
    [500, 'retry'],
    [400, 'refused'],
    [403, 'refused'],
    [413, 'refused'],
  ] as const)('reports a %i from the push service as %s', async (status, outcome) => {
    const browser = await browserSubscription(chromeEndpoint(status))
    expect(await sendPush(browser.json, { n: 1 }, await vapid(), { ttl: 60, urgency: 'high' })).toEqual({
      outcome,
      status,
    })
    expect(await received(browser.json.endpoint)).toHaveLength(1)
  })

  it('reports a push service that cannot be reached as retry', async () => {
    vi.restoreAllMocks()
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('network connection lost'))
    const browser = await browserSubscription(chromeEndpoint())
    expect(await sendPush(browser.json, { n: 1 }, await vapid(), { ttl: 60, urgency: 'high' })).toEqual({
      outcome: 'retry',
      status: 0,
    })
  })
})

describe('push endpoint allow-list', () => {
  it('accepts https:// endpoints of the default push services', () => {
    for (const endpoint of [
      'https://fcm.googleapis.com/fcm/send/abc',
      'https://updates.push.services.mozilla.com/wpush/v2/abc',
      'https://web.push.apple.com/QGx0ZXN0',
      'https://wns2-par02p.notify.windows.com/w/?token=abc',
    ])
      expect(isAllowedEndpoint(endpoint, DEFAULT_PUSH_SERVICE_HOSTS), endpoint).toBe(true)
  })

  it('refuses other hosts, other schemes, ports, credentials and look-alike hosts', () => {
    for (const endpoint of [
      'http://fcm.googleapis.com/fcm/send/abc',
      'https://fcm.googleapis.com:8443/fcm/send/abc',
      'https://user:pw@fcm.googleapis.com/fcm/send/abc',
      'https://fcm.googleapis.com.evil.example/x',
      'https://evilfcm.googleapis.com/x',
      'https://notify.windows.com/w',
      'https://evilnotify.windows.com/w',
      'https://127.0.0.1/x',
      'https://localhost/x',
      'https://169.254.169.254/latest/meta-data',
      'not a url',
      'javascript:alert(1)',
    ])
      expect(isAllowedEndpoint(endpoint, DEFAULT_PUSH_SERVICE_HOSTS), endpoint).toBe(false)
  })

  it('reads PUSH_SERVICE_HOSTS, falling back to the defaults when it is empty', () => {
    expect(parsePushServiceHosts(' Push.Example.com , *.push.example.net ')).toEqual([
      'push.example.com',
      '*.push.example.net',
    ])
    expect(parsePushServiceHosts('')).toEqual([...DEFAULT_PUSH_SERVICE_HOSTS])
    expect(parsePushServiceHosts(undefined)).toEqual([...DEFAULT_PUSH_SERVICE_HOSTS])
  })
})

describe('VAPID settings', () => {
  it('derives the application server key from the private JWK', async () => {
    const secret = await vapidSecret()
    const setting = readVapid(secret, SUBJECT)
    const { x, y, d } = JSON.parse(secret)
    expect(setting).toEqual({ vapid: { subject: SUBJECT, privateKey: d, publicKey: expect.any(String) } })
    if (!('vapid' in setting)) return
    const point = Uint8Array.from(atob((setting.vapid.publicKey ?? '').replace(/-/g, '+').replace(/_/g, '/')), (c) =>
      c.charCodeAt(0),
    )
    expect(point.length).toBe(65)
    expect(point[0]).toBe(4)
    const jwk = (await crypto.subtle.exportKey(
      'jwk',
      await crypto.subtle.importKey('raw', point, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']),
    )) as JsonWebKey
    expect([jwk.x, jwk.y]).toEqual([x, y])
  })

  it.each([
    [undefined, undefined, 'VAPID_PRIVATE_KEY and VAPID_SUBJECT are not set'],
    ['', SUBJECT, 'VAPID_PRIVATE_KEY is not set'],
    ['{"kty":"EC"}', SUBJECT, 'VAPID_PRIVATE_KEY must be a P-256 JWK with x, y and d'],
    ['not json', SUBJECT, 'VAPID_PRIVATE_KEY must be the JWK `npm run vapid-keys` prints'],
  ])('is off, saying why, for private key %j and subject %j', (key, subject, reason) => {
    expect(readVapid(key, subject)).toEqual({ off: reason })
  })

  it('is off when the subject is not a mailto: or https: URI', async () => {
    for (const subject of [undefined, '', 'ops@example.com', 'http://example.com'])
      expect(readVapid(await vapidSecret(), subject)).toEqual({ off: 'VAPID_SUBJECT must be a mailto: or https: URI' })
  })
})
