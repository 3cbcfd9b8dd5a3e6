-- Per-user bounds on every table a user can grow, not only on live tasks: a user at no tasks could
-- otherwise keep an Idempotency-Key record and a tombstone for every keyed create-then-delete.
-- The counts live in the per-user row task_counts already keeps, kept by triggers as `n` is, so
-- that the statements that write (src/tasks/repo.ts) can check a bound without counting rows.

ALTER TABLE task_counts ADD COLUMN idempotency_keys INTEGER NOT NULL DEFAULT 0 CHECK (idempotency_keys >= 0);
ALTER TABLE task_counts ADD COLUMN tombstones INTEGER NOT NULL DEFAULT 0 CHECK (tombstones >= 0);

INSERT OR IGNORE INTO task_counts (user_id, n) SELECT DISTINCT user_id, 0 FROM idempotency_keys;
INSERT OR IGNORE INTO task_counts (user_id, n) SELECT DISTINCT user_id, 0 FROM task_tombstones;
UPDATE task_counts SET
  idempotency_keys = (SELECT count(*) FROM idempotency_keys AS k WHERE k.user_id = task_counts.user_id),
  tombstones = (SELECT count(*) FROM task_tombstones AS t WHERE t.user_id = task_counts.user_id);

-- An upsert that replaces an expired record is an UPDATE: it changes no count.
CREATE TRIGGER idempotency_counts_on_insert AFTER INSERT ON idempotency_keys
BEGIN
  INSERT OR IGNORE INTO task_counts (user_id, n) VALUES (NEW.user_id, 0);
  UPDATE task_counts SET idempotency_keys = idempotency_keys + 1 WHERE user_id = NEW.user_id;
END;

CREATE TRIGGER idempotency_counts_on_delete AFTER DELETE ON idempotency_keys
BEGIN
  UPDATE task_counts SET idempotency_keys = idempotency_keys - 1 WHERE user_id = OLD.user_id;
END;

CREATE TRIGGER tombstone_counts_on_insert AFTER INSERT ON task_tombstones
BEGIN
  INSERT OR IGNORE INTO task_counts (user_id, n) VALUES (NEW.user_id, 0);
  UPDATE task_counts SET tombstones = tombstones + 1 WHERE user_id = NEW.user_id;
END;

CREATE TRIGGER tombstone_counts_on_delete AFTER DELETE ON task_tombstones
BEGIN
  UPDATE task_counts SET tombstones = tombstones - 1 WHERE user_id = OLD.user_id;
END;

-- Serves a keyed create's purge of the caller's own expired records (user_id = ? AND created_at <= ?)
-- and its Retry-After (the caller's oldest live record), without reading the live ones.
CREATE INDEX idempotency_keys_by_user_created ON idempotency_keys (user_id, created_at);

-- A user's change sequence starts at the moment of their first write, in microseconds since 1970,
-- with the horizon there, instead of at 1. Erasing an account (DELETE /me) removes its task_sync
-- row with the rest, so a later account for the same sub starts a new sequence far above any
-- number the old one reached (writes are rate-limited far below a million a second), and the old
-- account's sync tokens are below its horizon: 410, with nothing about the old account kept.
-- Existing users keep their sequences.
DROP TRIGGER tasks_sync_insert;
CREATE TRIGGER tasks_sync_insert AFTER INSERT ON tasks
BEGIN
  INSERT INTO task_sync (user_id, seq, horizon)
    VALUES (NEW.user_id, CAST(unixepoch('subsec') * 1000000 AS INTEGER) + 1,
            CAST(unixepoch('subsec') * 1000000 AS INTEGER))
    ON CONFLICT (user_id) DO UPDATE SET seq = seq + 1;
  UPDATE tasks SET seq = (SELECT seq FROM task_sync WHERE user_id = NEW.user_id) WHERE id = NEW.id;
END;
