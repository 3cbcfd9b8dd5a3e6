/** The configured limits, for the middleware and handlers that enforce them. */
import { getConfig, type Limits } from './config'
import { serverMisconfigured } from './problem'

/** The limits in force; a misconfiguration is a 500 (fail closed), never a silent default. */
export function limits(env: Env): Limits {
  const { limits } = getConfig(env)
  if ('error' in limits) throw serverMisconfigured('The server is not configured with valid limits.')
  return limits
}
