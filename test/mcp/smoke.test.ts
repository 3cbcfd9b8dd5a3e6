import { describe, expect, it } from 'vitest'
import { signIn } from '../helpers'
import { mcpClient } from './client'
import { tokenFor } from '../helpers'

describe('smoke', () => {
  it('works', async () => {
    const token = await tokenFor('user-smoke', { aud: 'https://tasks.test/mcp', scope: 'tasks:read tasks:write', client_id: 'x' })
    const client = await mcpClient(token)
    const tools = await client.listTools()
    console.log(JSON.stringify(tools, null, 1).slice(0, 6000))
    const added = await client.callTool({ name: 'add_task', arguments: { title: 'Hello' } })
    console.log(JSON.stringify(added))
    const listed = await client.callTool({ name: 'list_tasks', arguments: {} })
    console.log(JSON.stringify(listed).slice(0, 1000))
    expect(1).toBe(2)
  })
})
