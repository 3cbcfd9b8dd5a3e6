/**
 * The assistant's configuration, read and validated once per `env` object (as src/config.ts does):
 * which OpenAI-compatible Chat Completions endpoint to call, with which model and key, and the
 * bounds of a turn. Chat is off until CHAT_API_BASE_URL and CHAT_MODEL are set; a setting that is
 * present but unusable is an error, and chat then fails closed.
 */
import { isTrustedUrl } from '../config'

export interface ChatConfig {
  /** `<CHAT_API_BASE_URL>/chat/completions`. */
  endpoint: string
  model: string
  /** CHAT_API_KEY, sent as `Authorization: Bearer`; a local server may need none. */
  apiKey: string | undefined
  /** Model calls in one turn (CHAT_MAX_MODEL_CALLS). */
  maxModelCalls: number
  /** How long one model call may take, answer read included (CHAT_TIMEOUT_SECONDS). */
  timeoutMs: number
  /** Turns per user (CHAT_RATE_LIMITER). */
  limiter: RateLimit
}

export type ChatSetting = { config: ChatConfig } | { off: true } | { error: string }

export const MODEL_CALLS = { default: 5, max: 10 }
export const TIMEOUT_SECONDS = { default: 30, max: 120 }

const cache = new WeakMap<object, ChatSetting>()

/** The chat setting for `env`; an error is logged once per isolate and configuration. */
export function chatSetting(env: Env): ChatSetting {
  let setting = cache.get(env)
  if (!setting) {
    setting = readChat(env)
    if ('error' in setting) {
      console.error(JSON.stringify({ level: 'error', message: 'chat misconfigured', reason: setting.error }))
    }
    cache.set(env, setting)
  }
  return setting
}

// Bindings may be absent at run time whatever the generated types say.
type Raw<T> = { [K in keyof T]?: T[K] | undefined }

function wholeNumber(
  raw: string | undefined,
  name: string,
  { default: fallback, max }: { default: number; max: number },
): { value: number } | { error: string } {
  const text = raw?.trim() || String(fallback)
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < 1 || value > max)
    return { error: `${name} must be a whole number from 1 to ${max}` }
  return { value }
}

function readChat(env: Raw<Env>): ChatSetting {
  const base = env.CHAT_API_BASE_URL?.trim().replace(/\/+$/, '') || undefined
  const model = env.CHAT_MODEL?.trim() || undefined
  if (base === undefined && model === undefined) return { off: true }
  if (base === undefined || model === undefined) return { error: 'chat needs both CHAT_API_BASE_URL and CHAT_MODEL' }
  // A key sent over plain HTTP could be read in transit: https only, except on this machine.
  if (!isTrustedUrl(base) || /[?#]/.test(base)) {
    return { error: 'CHAT_API_BASE_URL must be an https:// URL without query or fragment (http:// only for localhost)' }
  }
  if (model.length > 200 || /\p{Cc}/u.test(model)) return { error: 'CHAT_MODEL must be a model name' }
  const apiKey = env.CHAT_API_KEY?.trim() || undefined
  // Whatever a header may not carry would make every call fail; say so once instead.
  if (apiKey !== undefined && !/^[\u0021-\u007e]+$/.test(apiKey)) {
    return { error: 'CHAT_API_KEY must be printable ASCII without spaces' }
  }
  const calls = wholeNumber(env.CHAT_MAX_MODEL_CALLS, 'CHAT_MAX_MODEL_CALLS', MODEL_CALLS)
  if ('error' in calls) return calls
  const timeout = wholeNumber(env.CHAT_TIMEOUT_SECONDS, 'CHAT_TIMEOUT_SECONDS', TIMEOUT_SECONDS)
  if ('error' in timeout) return timeout
  const limiter = env.CHAT_RATE_LIMITER
  if (!limiter) return { error: 'the CHAT_RATE_LIMITER binding ([[ratelimits]] in wrangler.toml) is missing' }
  return {
    config: {
      endpoint: `${base}/chat/completions`,
      model,
      apiKey,
      maxModelCalls: calls.value,
      timeoutMs: timeout.value * 1000,
      limiter,
    },
  }
}
