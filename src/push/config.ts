/**
 * Push settings, read once per `env`: the VAPID identity (or why push is off) and the push service
 * hosts. Push being off is not an error: reminders still show in the app, subscribing says why not,
 * and the reason is logged once per isolate.
 */
import { parsePushServiceHosts } from './endpoint'
import { type PushSetting, readVapid } from './vapid'

export interface PushConfig {
  setting: PushSetting
  hosts: string[]
}

const cache = new WeakMap<object, PushConfig>()

type PushEnv = Partial<Record<'VAPID_PRIVATE_KEY' | 'VAPID_SUBJECT' | 'PUSH_SERVICE_HOSTS', string>>

/** Push settings for this env, from VAPID_PRIVATE_KEY, VAPID_SUBJECT and PUSH_SERVICE_HOSTS (any may be unset). */
export function pushConfig(bindings: object): PushConfig {
  const env = bindings as PushEnv
  let config = cache.get(env)
  if (!config) {
    config = {
      setting: readVapid(env.VAPID_PRIVATE_KEY, env.VAPID_SUBJECT),
      hosts: parsePushServiceHosts(env.PUSH_SERVICE_HOSTS),
    }
    if ('off' in config.setting) {
      console.warn(JSON.stringify({ level: 'warn', message: 'web push is off', reason: config.setting.off }))
    }
    cache.set(env, config)
  }
  return config
}
