// `npm run bench -- --peer`: the naive peer (bench/peer/, the design card read literally) in the same
// run, served the way bench/run.mjs serves the project: its own bundle from `wrangler deploy
// --dry-run`, its own workerd through Miniflare on a direct socket, its own local D1 seeded with as
// many tasks per user. bench/run.mjs loads each paired endpoint on both, in opposite orders in
// alternate rounds, and prints the project's share of the peer's req/s and its CPU per request as a
// multiple of the peer's, each the median of the rounds. See docs/performance.md.
import path from 'node:path'
import { build, root, serve } from './serve.mjs'

/** The project's rows that the peer has a counterpart for: /health, and the task endpoints with local D1 and stub D1. */
const PAIRED = new Set(['health', 'list', 'get', 'create', 'list:app', 'get:app', 'create:app'])

/**
 * Builds and starts the peer, creates its table through one request (as its first user would),
 * seeds it like the project's D1, and returns where it listens and its counterpart of each row.
 */
export async function startPeer({ stateDir, config, secret, profile, user, auth, projectTaskId, seedCounts }) {
  const bundle = build(path.join(stateDir, 'peer-build'), [
    '--config',
    path.join(root, 'bench/peer/wrangler.toml'),
    '--compatibility-date',
    config.compatibility_date,
    ...config.compatibility_flags.flatMap((flag) => ['--compatibility-flags', flag]),
    // The same build as the project's in this run.
    ...(profile ? ['--no-minify'] : []),
  ])
  const { mf, base } = await serve(bundle, config, {
    bindings: { BETTER_AUTH_SECRET: secret },
    d1Databases: { DB: 'peer' },
    resourcePersistencePath: path.join(stateDir, 'peer-state'),
  })
  try {
    const first = await fetch(`${base}/tasks?limit=1`, { headers: auth })
    await first.arrayBuffer()
    if (first.status !== 200) throw new Error(`the peer answered its first request with ${first.status}`)
    const db = await mf.getD1Database('DB')
    await seed(db, user, seedCounts)
    const { taskId } = await db
      .prepare('SELECT id AS taskId FROM peer_tasks WHERE user_id = ?1 LIMIT 1')
      .bind(user)
      .first()
    return {
      base,
      /** The peer's request for a project row, or undefined when the peer has none. */
      counterpart: (endpoint) =>
        PAIRED.has(endpoint.name)
          ? { ...endpoint, name: `${endpoint.name}:peer`, path: endpoint.path.replace(projectTaskId, taskId) }
          : undefined,
      dispose: () => mf.dispose(),
    }
  } catch (error) {
    await mf.dispose()
    throw error
  }
}

/** The same tasks as the project's seed (bench/run.mjs): the benched user's, then everyone else's. */
async function seed(db, user, { tasksPerUser, otherUsers, tasksPerOtherUser }) {
  const insert = (users, perUser) =>
    db
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1 * ?2)
         INSERT INTO peer_tasks (id, user_id, title, tags, created_at, updated_at)
         SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
                      || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
                CASE WHEN ?1 = 1 THEN ?3 ELSE 'other-user-' || (i % ?1) END,
                'Seeded task ' || i,
                '["seed"]',
                strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'),
                strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds')
         FROM n`,
      )
      .bind(users, perUser, user)
      .run()
  await insert(1, tasksPerUser)
  await insert(otherUsers, tasksPerOtherUser)
}

/**
 * Per paired row, from every round: the project's share of the peer's req/s and its CPU per request
 * as a multiple of the peer's, each round's pair measured back to back; the median and each round's.
 */
export function comparePeer(endpoints, rounds, peerRounds) {
  return endpoints.flatMap((endpoint, i) => {
    const pairs = rounds.map((results, n) => [results[i], peerRounds[n][i]]).filter(([, peer]) => peer)
    if (pairs.length === 0) return []
    const shares = pairs.map(([ours, peer]) => ours.requestsPerSecond / peer.requestsPerSecond)
    const cpus = pairs
      .filter(([ours, peer]) => ours.workerdCpuMicrosPerRequest && peer.workerdCpuMicrosPerRequest)
      .map(([ours, peer]) => ours.workerdCpuMicrosPerRequest / peer.workerdCpuMicrosPerRequest)
    return [
      {
        name: endpoint.name,
        endpoint: endpoint.label,
        shareOfPeerRequestsPerSecond: round(median(shares)),
        shareByRound: shares.map(round),
        ...(cpus.length > 0 && { cpuMultipleOfPeer: round(median(cpus)), cpuMultipleByRound: cpus.map(round) }),
        peerRequestsPerSecond: pairs.map(([, peer]) => peer.requestsPerSecond),
        peerCpuMicrosPerRequest: pairs.map(([, peer]) => peer.workerdCpuMicrosPerRequest),
      },
    ]
  })
}

/** The comparison as table rows for bench/run.mjs's printMarkdown. */
export function peerTable(comparisons) {
  const cell = (value, byRound) =>
    value === undefined ? 'n/a' : `${value.toFixed(2)} (${byRound.map((v) => v.toFixed(2)).join(', ')})`
  return {
    header: ['endpoint', 'share of peer req/s', 'CPU/req x peer', 'peer req/s', 'peer CPU/req'],
    rows: comparisons.map((c) => [
      c.endpoint,
      cell(c.shareOfPeerRequestsPerSecond, c.shareByRound),
      cell(c.cpuMultipleOfPeer, c.cpuMultipleByRound ?? []),
      c.peerRequestsPerSecond.join(', '),
      c.peerCpuMicrosPerRequest.map((us) => (us === undefined ? 'n/a' : `${us} µs`)).join(', '),
    ]),
  }
}

/** The middle value; the mean of the two middle ones for an even count. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function round(value) {
  return Math.round(value * 100) / 100
}
