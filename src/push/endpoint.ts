/**
 * Which push services the worker will talk to. A subscription's endpoint is a URL the client chose,
 * so it is accepted, and later fetched, only when it is https:// on a host of this list.
 */

/** The push services of Chrome, Firefox, Safari and Edge (Edge's are regional: wns2-*.notify.windows.com). */
export const DEFAULT_PUSH_SERVICE_HOSTS = [
  'fcm.googleapis.com',
  'updates.push.services.mozilla.com',
  'web.push.apple.com',
  '*.notify.windows.com',
] as const

/** PUSH_SERVICE_HOSTS: comma-separated host names, `*.` for any subdomain; empty means the defaults. */
export function parsePushServiceHosts(text: string | undefined): string[] {
  const hosts = (text ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '')
  return hosts.length > 0 ? hosts : [...DEFAULT_PUSH_SERVICE_HOSTS]
}

const hostMatches = (hostname: string, pattern: string) =>
  pattern.startsWith('*.')
    ? hostname.endsWith(pattern.slice(1)) && hostname.length > pattern.length - 1
    : hostname === pattern

/** True when `endpoint` is an https:// URL on an allowed host, on the default port, with no credentials. */
export function isAllowedEndpoint(endpoint: string, hosts: readonly string[]): boolean {
  const url = URL.parse(endpoint)
  if (url?.protocol !== 'https:' || url.port !== '' || url.username !== '' || url.password !== '') return false
  return hosts.some((pattern) => hostMatches(url.hostname, pattern))
}
