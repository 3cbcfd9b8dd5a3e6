/** The task tools (src/tools/tasks.ts) for the assistant: run through the task service, as door `chat`, for the caller only. */
import type { Context } from 'hono'
import type { DatabaseError } from '../db'
import type { AppEnv } from '../env'
import { taskService } from '../tasks/service'
import { callTool, TASK_TOOLS } from '../tools/tasks'
import type { ToolRunner } from './tools'

/** The tools for `c.var.user`: no argument of the model's can change whose tasks they touch. */
export function taskToolRunner(c: Context<AppEnv>): ToolRunner {
  const tasks = taskService(c, 'chat')
  const log = (error: DatabaseError) =>
    console.error(
      JSON.stringify({
        level: 'error',
        message: 'database failure',
        requestId: c.get('requestId'),
        error: String(error.cause),
      }),
    )
  return { tools: TASK_TOOLS, run: (name, args) => callTool(tasks, name, args, log) }
}
