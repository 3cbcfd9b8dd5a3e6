// The tasks the bench seeds a local D1 with, shared by bench/run.mjs and bench/ladder.mjs, so that a
// create on either lands in a table of the same size. bench/peer.mjs seeds the peer's table alike.

export const TASKS_PER_USER = 1000
export const OTHER_USERS = 100
export const TASKS_PER_OTHER_USER = 100
/**
 * The chat row's users (bench/run.mjs): each turn starts a conversation, and a user may hold only so
 * many (`conversationsPerUser` in src/chat/bounds.ts), so the load takes its users in turn, each with
 * a few tasks for its tool call to list. Under the worker's cache of verified tokens
 * (src/auth/verified-tokens.ts), so that no turn verifies its token afresh.
 */
export const CHAT_USERS = 500
export const TASKS_PER_CHAT_USER = 10

/** The benched user's tasks, everyone else's and (with `chat`) the chat row's users', one INSERT … SELECT per user set. */
export async function seed(db, user, chat) {
  // One user is `name`; more are `name` and 0, 1, 2...
  const insert = (users, perUser, name) =>
    db
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1 * ?2)
         INSERT INTO tasks (id, user_id, title, tags, created_at, updated_at, number)
         SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'
                      || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
                CASE WHEN ?1 = 1 THEN ?3 ELSE ?3 || (i % ?1) END,
                'Seeded task ' || i,
                '["seed"]',
                strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'),
                strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'),
                -- Each user's 1, 2, 3..., as migrations/0006_task_numbers.sql requires.
                CAST(i / ?1 AS INTEGER) + 1
         FROM n`,
      )
      .bind(users, perUser, name)
      .run()
  await insert(1, TASKS_PER_USER, user)
  await insert(OTHER_USERS, TASKS_PER_OTHER_USER, 'other-user-')
  if (chat) await insert(CHAT_USERS, TASKS_PER_CHAT_USER, 'chat-user-')
}
