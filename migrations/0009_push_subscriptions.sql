-- Web Push subscriptions (src/push/): a browser's PushSubscription, per user, at most 10 each
-- (src/push/repo.ts checks that in its INSERT). The endpoint was checked against PUSH_SERVICE_HOSTS.
CREATE TABLE push_subscriptions (
  id         TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 36),
  user_id    TEXT NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  endpoint   TEXT NOT NULL CHECK (length(endpoint) BETWEEN 9 AND 2048 AND substr(endpoint, 1, 8) = 'https://'),
  -- base64url without padding: a 65-byte P-256 point and a 16-byte secret.
  p256dh     TEXT NOT NULL CHECK (length(p256dh) = 87),
  auth       TEXT NOT NULL CHECK (length(auth) = 22),
  created_at TEXT NOT NULL CHECK (length(created_at) = 24),
  -- Also serves the user's list and count: user_id = ?1.
  UNIQUE (user_id, endpoint)
) STRICT;

-- Messages a push service asked to have retried (429, 5xx): tried again on later runs until an hour
-- after the first attempt (src/reminders/).
CREATE TABLE push_retries (
  task_id         TEXT NOT NULL CHECK (length(task_id) = 36),
  subscription_id TEXT NOT NULL CHECK (length(subscription_id) = 36),
  user_id         TEXT NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  first_tried_at  TEXT NOT NULL CHECK (length(first_tried_at) = 24),
  PRIMARY KEY (task_id, subscription_id)
) STRICT, WITHOUT ROWID;
-- Serves the claim (oldest first) and the expiry of retries past the hour.
CREATE INDEX push_retries_by_first ON push_retries (first_tried_at);

CREATE TRIGGER push_retries_on_unsubscribe AFTER DELETE ON push_subscriptions
BEGIN
  DELETE FROM push_retries WHERE subscription_id = OLD.id;
END;

CREATE TRIGGER push_retries_on_task_delete AFTER DELETE ON tasks
BEGIN
  DELETE FROM push_retries WHERE task_id = OLD.id;
END;
