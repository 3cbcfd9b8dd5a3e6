/** The task tools (src/tools/tasks.ts) for the assistant: run through the task service, as door `chat`, for the caller only. */
import type { Context } from 'hono'
import type { AppEnv } from '../env'
import { taskService } from '../tasks/service'
import { callTool, logToolFailure, TASK_TOOLS } from '../tools/tasks'
import type { ToolRunner } from './tools'

/** The tools for `c.var.user`: no argument of the model's can change whose tasks they touch. */
export function taskToolRunner(c: Context<AppEnv>): ToolRunner {
  const tasks = taskService(c, 'chat')
  const log = logToolFailure(c)
  return { tools: TASK_TOOLS, run: (name, args) => callTool(tasks, name, args, log) }
}
