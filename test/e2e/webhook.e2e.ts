/**
 * Webhook delivery under `npm run dev`, with a real queue (Miniflare's) and a real receiver on
 * loopback: the receiver answers 500 to the first delivery and 200 to the retry, which arrives with
 * the same `webhook-id` and a signature the Standard Webhooks reference library accepts.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devToken, startDevServer, writeEnvFile } from '../../scripts/dev-server.mjs'

interface Delivery {
  headers: Record<string, string>
  body: string
  status: number
}

describe('webhook delivery under npm run dev', () => {
  const secret = randomBytes(32).toString('base64url')
  const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`
  const deliveries: Delivery[] = []
  let receiver: Server | undefined
  let work = ''
  let dev: Awaited<ReturnType<typeof startDevServer>> | undefined

  beforeAll(async () => {
    receiver = createServer(async (req, res) => {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const status = deliveries.length === 0 ? 500 : 200
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]))
      deliveries.push({ headers, body: Buffer.concat(chunks).toString('utf8'), status })
      res.writeHead(status).end()
    })
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve))
    const { port } = receiver.address() as AddressInfo
    work = mkdtempSync(path.join(tmpdir(), 'tasks-e2e-webhook-'))
    const envFile = writeEnvFile(path.join(work, 'webhook.vars'), {
      BETTER_AUTH_SECRET: secret,
      WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
      WEBHOOK_SECRET: webhookSecret,
    })
    dev = await startDevServer({ persistTo: path.join(work, 'state'), envFile, timeoutMs: 120_000 })
  }, 150_000)

  afterAll(async () => {
    await dev?.stop()
    receiver?.closeAllConnections()
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()))
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('retries a refused delivery, with the same webhook-id and a valid signature, until it is taken', async () => {
    const token = devToken('webhook-user', secret)
    const res = await fetch(`${dev!.url}/tasks`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Delivered at least once' }),
    })
    expect(res.status).toBe(201)
    const task = (await res.json()) as { id: string }

    // The first attempt at once, the retry after its delay (30 s), polled every half second.
    const deadline = Date.now() + 75_000
    while (deliveries.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500))
    expect(
      deliveries.map((d) => d.status),
      dev!.output(),
    ).toEqual([500, 200])

    const [first, retry] = deliveries as [Delivery, Delivery]
    expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id'])
    const event = new Webhook(webhookSecret).verify(retry.body, retry.headers) as {
      type: string
      data: { task_id: string; event_type: string; user_id: string }
    }
    expect(event).toMatchObject({
      type: 'task.created',
      data: { task_id: task.id, event_type: 'created', user_id: 'webhook-user' },
    })

    // The log knows it as delivered: no further attempt comes.
    const log = await fetch(`${dev!.url}/tasks/events`, { headers: { Authorization: `Bearer ${token}` } })
    const { items } = (await log.json()) as { items: { id: string }[] }
    expect(items.map((e) => e.id)).toEqual([retry.headers['webhook-id']])
    await new Promise((r) => setTimeout(r, 2_000))
    expect(deliveries).toHaveLength(2)
  }, 120_000)
})
