/**
 * The MCP server: the task tools of src/tools/tasks.ts, for the user src/auth/ verified
 * (`c.var.user`), built afresh for each request.
 */
import { type CallToolResult, McpServer, requireScopes } from '@modelcontextprotocol/server'
import type { Context } from 'hono'
import { SCOPES } from '../auth'
import type { AppEnv } from '../env'
import { taskService } from '../tasks/service'
import { logToolFailure, runTool, TASK_TOOLS, type TaskTool, type ToolResult } from '../tools/tasks'

const asMcp = (result: ToolResult): CallToolResult =>
  result.isError
    ? { isError: true, content: [{ type: 'text', text: result.message }] }
    : {
        // The text form is for clients that do not read structuredContent.
        content: [{ type: 'text', text: JSON.stringify(result.structured) }],
        structuredContent: result.structured,
      }

/** The MCP server for this request: every tool reads and writes only `c.var.user`'s tasks. */
export function tasksServer(c: Context<AppEnv>): McpServer {
  const server = new McpServer(
    { name: 'tasks-api', version: '1.0.0' },
    { instructions: "Manage the signed-in user's tasks. Find a task_id with list_tasks before changing a task." },
  )
  const scopes = { read: requireScopes(SCOPES.read), write: requireScopes(SCOPES.write) }
  const log = logToolFailure(c)
  for (const tool of TASK_TOOLS as readonly TaskTool[]) {
    const { name, title, description, inputSchema, outputSchema, annotations, scope } = tool
    server.registerTool(
      name,
      { title, description, inputSchema, outputSchema, annotations, scopeChallenge: scopes[scope] },
      async (args) => asMcp(await runTool(tool, taskService(c, 'mcp'), args, log)),
    )
  }
  return server
}
