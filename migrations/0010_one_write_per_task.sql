-- Fewer rows written per request (docs/performance.md, "Rows written"):
--   1. the user's change sequence moves into task_counts, so every per-user counter is one row, and
--      task_sync goes; a create writes that row once (count, task number and sequence together);
--   2. the API's writes set the task's sequence number in their own INSERT or UPDATE (the next one:
--      task_counts.seq + 1), so the task row is written once; the triggers below only advance the
--      counter, and refuse a number that is not the next one. A statement that does not set it
--      (a bulk INSERT ... SELECT, a future write path) still gets one, as before, at the old price
--      of a second write to the row: no write path can forget a sequence number.
-- Existing sequence numbers, tombstones, horizons and 0007's counts are kept as they are, so every
-- sync token handed out before this migration stays valid and exact. As in 0007, a user's sequence
-- starts at the moment of their first write (microseconds since 1970), with the horizon there: the
-- next number is the counter's plus one, or that moment plus one while the counter is still 0.

ALTER TABLE task_counts ADD COLUMN seq INTEGER NOT NULL DEFAULT 0 CHECK (seq >= 0);
ALTER TABLE task_counts ADD COLUMN horizon INTEGER NOT NULL DEFAULT 0 CHECK (horizon >= 0);

-- Every user with a sequence row is expected to have a count row; one without keeps its sequence too.
INSERT INTO task_counts (user_id, n) SELECT user_id, 0 FROM task_sync WHERE true
  ON CONFLICT (user_id) DO NOTHING;
UPDATE task_counts SET seq = s.seq, horizon = s.horizon FROM task_sync AS s WHERE s.user_id = task_counts.user_id;

DROP TRIGGER task_counts_on_insert;
DROP TRIGGER task_counts_last_number;
DROP TRIGGER task_counts_on_delete;
DROP TRIGGER tasks_sync_insert;
DROP TRIGGER tasks_sync_update;
DROP TRIGGER tasks_sync_delete;
DROP TRIGGER tasks_version_bumps;
DROP TABLE task_sync;

-- Every write to a task sets version = version + 1. The one exception is a change of seq alone,
-- which only the triggers below make (as in 0004, the schema cannot tell who made it).
CREATE TRIGGER tasks_version_bumps BEFORE UPDATE ON tasks
WHEN NEW.version IS NOT OLD.version + 1 AND (NEW.version IS NOT OLD.version OR NEW.seq IS OLD.seq)
BEGIN
  SELECT RAISE(ABORT, 'every write to a task must set version = version + 1');
END;

-- A sequence number set by the write itself must be exactly the user's next one: anything else
-- would reorder or hide changes in the sync feed. A statement that sets it for several rows at once
-- gives them all the same number, and is refused here.
CREATE TRIGGER tasks_seq_is_next_on_insert BEFORE INSERT ON tasks
WHEN NEW.seq <> 0 AND NEW.seq IS NOT
  coalesce(nullif((SELECT seq FROM task_counts WHERE user_id = NEW.user_id), 0), CAST(unixepoch('subsec') * 1000000 AS INTEGER)) + 1
BEGIN
  SELECT RAISE(ABORT, 'tasks.seq must be the user''s next sequence number');
END;

CREATE TRIGGER tasks_seq_is_next_on_update BEFORE UPDATE OF seq ON tasks
WHEN NEW.version IS NOT OLD.version AND NEW.seq IS NOT OLD.seq
  AND NEW.seq IS NOT (SELECT seq FROM task_counts WHERE user_id = NEW.user_id) + 1
BEGIN
  SELECT RAISE(ABORT, 'tasks.seq must be the user''s next sequence number');
END;

-- One write to the counter row per insert: the count, the task number (0006) and the sequence
-- number together, and a first write's horizon (the row may exist for 0007's counts alone).
CREATE TRIGGER tasks_counted_on_insert AFTER INSERT ON tasks
WHEN NEW.seq <> 0
BEGIN
  INSERT INTO task_counts (user_id, n, last_number, seq, horizon) VALUES (NEW.user_id, 1, NEW.number, NEW.seq, NEW.seq - 1)
    ON CONFLICT (user_id) DO UPDATE SET n = n + 1, last_number = excluded.last_number, seq = excluded.seq,
      horizon = iif(seq = 0, excluded.horizon, horizon);
END;

-- An insert that set no sequence number gets the next one afterwards (a second write to the row).
CREATE TRIGGER tasks_numbered_after_insert AFTER INSERT ON tasks
WHEN NEW.seq = 0
BEGIN
  INSERT INTO task_counts (user_id, n, last_number, seq, horizon)
    VALUES (NEW.user_id, 1, NEW.number, CAST(unixepoch('subsec') * 1000000 AS INTEGER) + 1, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
    ON CONFLICT (user_id) DO UPDATE SET n = n + 1, last_number = excluded.last_number,
      seq = iif(seq = 0, excluded.seq, seq + 1), horizon = iif(seq = 0, excluded.horizon, horizon);
  UPDATE tasks SET seq = (SELECT seq FROM task_counts WHERE user_id = NEW.user_id) WHERE id = NEW.id;
END;

CREATE TRIGGER tasks_counted_on_update AFTER UPDATE OF seq ON tasks
WHEN NEW.version IS NOT OLD.version AND NEW.seq IS NOT OLD.seq
BEGIN
  UPDATE task_counts SET seq = NEW.seq WHERE user_id = NEW.user_id;
END;

-- Likewise for an update that set no sequence number.
CREATE TRIGGER tasks_numbered_after_update AFTER UPDATE ON tasks
WHEN NEW.seq IS OLD.seq
BEGIN
  UPDATE task_counts SET seq = seq + 1 WHERE user_id = NEW.user_id;
  UPDATE tasks SET seq = (SELECT seq FROM task_counts WHERE user_id = NEW.user_id) WHERE id = NEW.id;
END;

-- One write to the counter row per deletion (count, sequence and 0007's tombstone count), and the
-- tombstone. Deletions are the only writer of tombstones, so 0007's insert trigger goes.
DROP TRIGGER tombstone_counts_on_insert;
CREATE TRIGGER tasks_counted_on_delete AFTER DELETE ON tasks
BEGIN
  UPDATE task_counts SET n = n - 1, seq = seq + 1, tombstones = tombstones + 1 WHERE user_id = OLD.user_id;
  INSERT INTO task_tombstones (user_id, seq, id, deleted_at)
    VALUES (OLD.user_id, (SELECT seq FROM task_counts WHERE user_id = OLD.user_id), OLD.id,
            strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;

-- 0007's count of Idempotency-Key records in one write to the counter row, not an insert and an update.
DROP TRIGGER idempotency_counts_on_insert;
CREATE TRIGGER idempotency_counts_on_insert AFTER INSERT ON idempotency_keys
BEGIN
  INSERT INTO task_counts (user_id, n, idempotency_keys) VALUES (NEW.user_id, 0, 1)
    ON CONFLICT (user_id) DO UPDATE SET idempotency_keys = idempotency_keys + 1;
END;
