/** The /api list shape in force (API_LIST_FORMAT, read by src/config.ts). */
import { getConfig, type ListFormat } from '../config'
import { serverMisconfigured } from '../problem'

/** `array` or `object`; a misconfiguration is a 500 (fail closed), not a guess. */
export function listFormat(env: Env): ListFormat {
  const { listFormat } = getConfig(env)
  if (typeof listFormat !== 'string') {
    throw serverMisconfigured('The server is not configured with a valid API_LIST_FORMAT.')
  }
  return listFormat
}
