-- The reminder job, fair across users (src/reminders/): a run finds the users with due reminders
-- without reading any one user's backlog, then takes a bounded share of each user's, oldest first.

-- The walk over (minute, user) pairs of unsent reminders: one seek per user per minute due, so an
-- account with ten thousand reminders due in one hour costs a run at most one step per minute.
CREATE INDEX task_reminders_due_by_minute ON task_reminders (substr(remind_at, 1, 16), user_id, remind_at)
  WHERE sent_at IS NULL;
-- One user's unsent reminders, oldest first: the share the run takes of them, and how many are due.
CREATE INDEX task_reminders_due_by_user ON task_reminders (user_id, remind_at) WHERE sent_at IS NULL;

-- A browser belongs to one account (src/push/repo.ts): subscribing an endpoint removes it from any
-- other account, found by the exact endpoint. Not UNIQUE: rows from before this migration may share one.
CREATE INDEX push_subscriptions_by_endpoint ON push_subscriptions (endpoint);
