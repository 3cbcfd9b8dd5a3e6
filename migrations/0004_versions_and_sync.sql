-- Versions for conditional requests (ETag / If-Match), and a per-user change sequence for the sync
-- feed (GET /tasks/changes). Everything here is kept up to date by triggers, so no write path, bulk
-- delete included, can forget a sequence number or a tombstone.

-- +1 on every write; the ETag is "v<version>". Existing tasks start at 1.
ALTER TABLE tasks ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
-- The user's change sequence number of the task's last write (set by the triggers below).
ALTER TABLE tasks ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

-- One row per user: the last sequence number handed out, and the horizon: the highest sequence
-- number of a tombstone purged so far. A sync token older than the horizon may have missed a
-- deletion, so it is refused (410) exactly, not by guessing from its age.
CREATE TABLE task_sync (
  user_id TEXT    NOT NULL PRIMARY KEY,
  seq     INTEGER NOT NULL CHECK (seq >= 0),
  horizon INTEGER NOT NULL DEFAULT 0 CHECK (horizon BETWEEN 0 AND seq)
) STRICT, WITHOUT ROWID;

-- Deleted tasks, kept 30 days (src/tasks/purge-repo.ts) so that syncing clients learn of the deletion.
CREATE TABLE task_tombstones (
  user_id    TEXT    NOT NULL,
  seq        INTEGER NOT NULL,
  id         TEXT    NOT NULL CHECK (length(id) = 36),
  deleted_at TEXT    NOT NULL CHECK (length(deleted_at) = 24),
  -- Serves the feed: user_id = ? AND seq > ? ORDER BY seq.
  PRIMARY KEY (user_id, seq)
) STRICT, WITHOUT ROWID;
-- Serves the daily purge: deleted_at < ?.
CREATE INDEX task_tombstones_by_deleted ON task_tombstones (deleted_at);

-- Existing tasks get sequence numbers 1..n per user, oldest first.
UPDATE tasks SET seq = numbered.n
FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS n FROM tasks) AS numbered
WHERE tasks.id = numbered.id;
INSERT INTO task_sync (user_id, seq) SELECT user_id, max(seq) FROM tasks GROUP BY user_id;

-- Serves the feed: user_id = ? AND seq > ? ORDER BY seq.
CREATE INDEX tasks_by_user_seq ON tasks (user_id, seq);

-- A write that does not bump the version would keep serving the old ETag for new content (a 304
-- for a changed task, an If-Match that misses a concurrent change). Refuse it in the schema.
-- Only the triggers below change seq, and they touch nothing else.
CREATE TRIGGER tasks_version_bumps BEFORE UPDATE ON tasks
WHEN NEW.seq IS OLD.seq AND NEW.version IS NOT OLD.version + 1
BEGIN
  SELECT RAISE(ABORT, 'every write to a task must set version = version + 1');
END;

CREATE TRIGGER tasks_sync_insert AFTER INSERT ON tasks
BEGIN
  INSERT INTO task_sync (user_id, seq) VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET seq = seq + 1;
  UPDATE tasks SET seq = (SELECT seq FROM task_sync WHERE user_id = NEW.user_id) WHERE id = NEW.id;
END;

-- Fires for every write but its own (which changes only seq).
CREATE TRIGGER tasks_sync_update AFTER UPDATE ON tasks
WHEN NEW.seq IS OLD.seq
BEGIN
  UPDATE task_sync SET seq = seq + 1 WHERE user_id = NEW.user_id;
  UPDATE tasks SET seq = (SELECT seq FROM task_sync WHERE user_id = NEW.user_id) WHERE id = NEW.id;
END;

CREATE TRIGGER tasks_sync_delete AFTER DELETE ON tasks
BEGIN
  UPDATE task_sync SET seq = seq + 1 WHERE user_id = OLD.user_id;
  INSERT INTO task_tombstones (user_id, seq, id, deleted_at)
    VALUES (OLD.user_id, (SELECT seq FROM task_sync WHERE user_id = OLD.user_id), OLD.id,
            strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
