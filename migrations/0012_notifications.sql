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

-- The in-app notification inbox (src/notifications/): the reminder job records one notification per
-- reminder it takes, in the batch that marks the reminder sent. A notification keeps the task's
-- title and description as they were then. `number` is the user's 1, 2, 3..., never reused.
CREATE TABLE notifications (
  user_id     TEXT    NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  number      INTEGER NOT NULL CHECK (number >= 1),
  type        TEXT    NOT NULL CHECK (type IN ('reminder')),
  task_id     TEXT             CHECK (task_id IS NULL OR length(task_id) = 36),
  task_number INTEGER          CHECK (task_number IS NULL OR task_number >= 1),
  title       TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  message     TEXT    NOT NULL CHECK (length(message) <= 1000),
  is_read     INTEGER NOT NULL DEFAULT 0 CHECK (is_read IN (0, 1)),
  sent_at     TEXT    NOT NULL CHECK (length(sent_at) = 24),
  -- Also serves the list, newest first, and the lookups by id.
  PRIMARY KEY (user_id, number)
) STRICT, WITHOUT ROWID;
-- The unread ones, newest first, and their count; the read ones, oldest first, for the trim.
CREATE INDEX notifications_by_user_read ON notifications (user_id, is_read, number);

-- Per user: the last number given (numbers are never reused, as task numbers are not) and how many
-- notifications are kept, so that keeping within MAX_NOTIFICATIONS_PER_USER never counts rows.
CREATE TABLE notification_counts (
  user_id     TEXT    NOT NULL PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 255),
  last_number INTEGER NOT NULL CHECK (last_number >= 0),
  n           INTEGER NOT NULL CHECK (n >= 0)
) STRICT, WITHOUT ROWID;
