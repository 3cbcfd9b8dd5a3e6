/**
 * The assistant on /api, as the FastAPI backend's chat contract has it: snake_case, `{user_id}` in
 * the path checked against the token before anything is read, 422 for invalid input, and the
 * routes the task adapter answered before answering as they did.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { apiChatReply, apiConversationDetail, apiConversationPage } from '../../src/chat/requests'
import { expectProblem } from '../helpers'
import { call, chatter, say, scriptModel, storedMessages, storedTasks } from './model'

afterEach(() => vi.restoreAllMocks())

describe('POST /api/{user_id}/chat', () => {
  it('answers {conversation_id, response, tool_calls}, with and without the user in the path', async () => {
    const user = await chatter()
    scriptModel([call(['add_task', { title: 'From the FastAPI door' }]), say('Added.')])
    const res = await user.api(`/api/${user.id}/chat`, { method: 'POST', body: { message: 'Add it' } })
    expect(res.status).toBe(200)
    const reply = await res.json()
    expect(apiChatReply.safeParse(reply).success).toBe(true)
    expect(reply).toEqual({
      conversation_id: 1,
      response: 'Added.',
      tool_calls: [
        {
          name: 'add_task',
          arguments: { title: 'From the FastAPI door' },
          result: expect.objectContaining({ task_id: 1, status: 'created' }),
        },
      ],
    })
    const model = scriptModel([say('Still here.')])
    const again = await user.api('/api/chat/', {
      method: 'POST',
      body: { conversation_id: 1, message: 'And now?', time_zone: 'America/New_York', extra: 'dropped' },
    })
    expect(await again.json()).toEqual({ conversation_id: 1, response: 'Still here.', tool_calls: [] })
    expect(model.requests[0]!.body.messages[0]!.content).toContain('America/New_York')
    expect(await storedMessages(user.id)).toHaveLength(4)
  })

  it('takes a null conversation_id as a new conversation, as the frontends send it', async () => {
    const user = await chatter()
    scriptModel([say('hi')])
    const res = await user.api('/api/chat', { method: 'POST', body: { conversation_id: null, message: 'hello' } })
    expect(await res.json()).toMatchObject({ conversation_id: 1 })
  })

  it("refuses another user's id in the path with 403 before reading the body or calling the model", async () => {
    const user = await chatter()
    const victim = await chatter()
    const model = scriptModel([say('never')])
    const res = await user.api(`/api/${victim.id}/chat`, { method: 'POST', body: 'not even JSON' })
    expect((await expectProblem(res, 403)).type).toBe('/problems/forbidden')
    await expectProblem(await user.api(`/api/${victim.id}/conversations`), 403)
    await expectProblem(await user.api(`/api/${victim.id}/conversations/1`, { method: 'DELETE' }), 403)
    await expectProblem(
      await user.api(`/api/chat?user_id=${victim.id}`, { method: 'POST', body: { message: 'x' } }),
      403,
    )
    await expectProblem(
      await user.api('/api/chat', { method: 'POST', body: { message: 'x', user_id: victim.id } }),
      403,
    )
    expect(model.requests).toHaveLength(0)
    expect(await storedMessages(user.id)).toEqual([])
    expect(await storedMessages(victim.id)).toEqual([])
  })

  it('answers invalid input with 422 naming each field, and stores nothing', async () => {
    const user = await chatter()
    const model = scriptModel([])
    for (const body of [{}, { message: '' }, { message: 'x'.repeat(4001) }, { message: 'x', conversation_id: 'one' }]) {
      const problem = await expectProblem(await user.api('/api/chat', { method: 'POST', body }), 422)
      expect(problem.type).toBe('/problems/unprocessable-content')
    }
    await expectProblem(await user.api('/api/chat', { method: 'POST', body: '{"message":' }), 422)
    expect(model.requests).toHaveLength(0)
    expect(await storedMessages(user.id)).toEqual([])
  })

  it('keeps the fault contract: a 502 carries conversation_id and tool_calls', async () => {
    const user = await chatter()
    scriptModel([call(['add_task', { title: 'Done before the fault' }]), () => new Response('', { status: 500 })])
    const problem = await expectProblem(await user.api('/api/chat', { method: 'POST', body: { message: 'go' } }), 502)
    expect(problem).toMatchObject({ conversation_id: 1, tool_calls: [{ name: 'add_task' }] })
    expect(await storedTasks(user.id)).toHaveLength(1)
  })
})

describe('/api/{user_id}/conversations', () => {
  it('lists, shows and deletes in snake_case', async () => {
    const user = await chatter()
    scriptModel([say('one'), say('two')])
    await user.api('/api/chat', { method: 'POST', body: { message: 'first' } })
    await user.api('/api/chat', { method: 'POST', body: { message: 'second' } })

    const page = await (await user.api(`/api/${user.id}/conversations?limit=1`)).json<{ next_cursor: string }>()
    expect(apiConversationPage.safeParse(page).success).toBe(true)
    expect(page).toEqual({
      items: [
        { id: 2, title: 'second', message_count: 2, created_at: expect.any(String), updated_at: expect.any(String) },
      ],
      next_cursor: '2',
    })
    const rest = await (await user.api(`/api/conversations?cursor=${page.next_cursor}&user_id=${user.id}`)).json()
    expect(rest).toMatchObject({ items: [{ id: 1 }], next_cursor: null })

    const detail = await (await user.api(`/api/${user.id}/conversations/1`)).json()
    expect(apiConversationDetail.safeParse(detail).success).toBe(true)
    expect(detail).toMatchObject({
      id: 1,
      messages: [
        { role: 'user', content: 'first', tool_calls: [] },
        { role: 'assistant', content: 'one', tool_calls: [] },
      ],
    })
    const deleted = await user.api(`/api/${user.id}/conversations/1`, { method: 'DELETE' })
    expect(await deleted.json()).toEqual({ message: 'Conversation deleted' })
    await expectProblem(await user.api('/api/conversations/1'), 404)
    const other = await chatter()
    await expectProblem(await other.api('/api/conversations/2'), 404)
  })

  it('leaves the task routes as they answered: /api/tasks/conversations is still no task', async () => {
    const user = await chatter()
    await expectProblem(await user.api('/api/tasks/conversations'), 404)
    const res = await user.api('/api/tasks/chat', { method: 'POST', body: { message: 'hi' } })
    await expectProblem(res, 405)
  })
})
