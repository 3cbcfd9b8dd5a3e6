import { exports } from 'cloudflare:workers'
import { expect, it } from 'vitest'

it('answers /health', async () => {
  const res = await exports.default.fetch('https://tasks.test/health')
  expect(res.status).toBe(200)
})
