/**
 * Bindings and a model that answer at once, for the bench (bench/entry.ts, bench/peer/entry.ts) and
 * the peer budget (test/perf/peer-budget.mjs): with them a request costs only the worker's
 * own work.
 */

/** What D1 would return for one stored task: the same row for every statement. */
export const ROW = {
  id: '0b6c3f2e-5b0c-4d6e-9a55-2f1f5e9c8d7a',
  title: 'Seeded task',
  description: '',
  completed: 0,
  priority: 'medium',
  due_at: null,
  tags: '["seed"]',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  completed_at: null,
  version: 1,
  recurrence: null,
  time_zone: 'UTC',
  next_task_id: null,
  remind_at: null,
}

/**
 * A D1 that answers at once without running SQL: with it, an endpoint costs only the worker's own
 * work (routing, auth, validation, JSON), as in production, where D1 runs on other machines. Every
 * `all()` returns `pageSize` rows: the app asks for one more than the page it sends (51 for a page
 * of 50), the naive peer for exactly the page.
 */
export function stubD1(pageSize: number): D1Database {
  const page = Array.from({ length: pageSize }, () => ROW)
  const statement = {
    bind: () => statement,
    first: async () => ({ ...ROW }),
    all: async () => ({ success: true, results: page.map((row) => ({ ...row })), meta: {} }),
    run: async () => ({ success: true, results: [{ ...ROW }], meta: {} }),
  }
  // A batch answers each of its statements with the one row (a PATCH reads and writes in one batch).
  const batch = async (statements: unknown[]) =>
    statements.map(() => ({ success: true, results: [{ ...ROW, series_start: null }], meta: {} }))
  const session = { prepare: () => statement, batch, getBookmark: () => null }
  return { prepare: () => statement, batch, withSession: () => session } as unknown as D1Database
}

/**
 * A rate limiter that answers at once. Miniflare simulates the binding with a SQLite-backed
 * Durable Object, which costs more CPU per call than the whole worker (the "no-op + rate limiter"
 * row); production's limiter is a call to a service in the same location.
 */
export const stubLimiter = { limit: async () => ({ success: true }) } satisfies RateLimit

/** CHAT_API_BASE_URL for the bench: bench/entry.ts answers it with stubModel. `.invalid` never resolves. */
export const STUB_MODEL_URL = 'https://model.bench.invalid/v1'

/** The one tool call the stub model makes in each turn: a page of the user's tasks. */
const TOOL_CALL = { id: 'call_bench_1', type: 'function', function: { name: 'list_tasks', arguments: '{"limit":5}' } }

/**
 * An OpenAI-compatible Chat Completions model that answers at once: one `list_tasks` call when the
 * last message is not a tool result (the first call of a turn), a short answer when it is. It
 * decides from the request's messages alone, so any number of turns may run at once.
 */
export async function stubModel(request: Request): Promise<Response> {
  const { messages } = await request.json<{ messages: { role: string }[] }>()
  const message =
    messages.at(-1)?.role === 'tool'
      ? { role: 'assistant', content: 'Here are your five newest tasks.' }
      : { role: 'assistant', content: null, tool_calls: [TOOL_CALL] }
  const finish = 'tool_calls' in message ? 'tool_calls' : 'stop'
  return Response.json({ object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }] })
}
