-- Fewer rows written per task write (docs/performance.md, "Rows written"): a create writes 9 rows,
-- a PATCH of one field 4, down from 12 and 5, and every list keeps its index seek.
--   1. tasks becomes a WITHOUT ROWID table: the primary key (id) is the table itself, so a create no
--      longer writes a separate primary-key index entry beside the row.
--   2. createdAt sorts by the task's number (0006), and updatedAt by its sequence number (0004,
--      0010): the order in which the database created, and last wrote, each task. Those are what the
--      timestamps record, without their ties (two writes in one millisecond, which the old indexes
--      broke by random id) or the clock differences between isolates. So the indexes on created_at
--      and updated_at go: tasks_by_user_number and tasks_by_user_seq already serve those orders, and
--      the completed= list is (user_id, completed, number).
-- Every column, value, constraint and trigger is kept as it was: the rows are copied as they are
-- (sequence numbers, versions, numbers), so every sync token handed out before stays exact. The
-- triggers below are those in force after 0010, unchanged; dropping the old table drops them.

CREATE TABLE tasks_rebuilt (
  id           TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
  user_id      TEXT    NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  title        TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 200 AND title = trim(title)),
  description  TEXT    NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
  completed    INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
  priority     TEXT    NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),
  due_at       TEXT             CHECK (due_at IS NULL OR length(due_at) = 24),
  tags         TEXT    NOT NULL DEFAULT '[]'
               CHECK (json_valid(tags) AND json_type(tags) = 'array' AND json_array_length(tags) <= 10),
  created_at   TEXT    NOT NULL CHECK (length(created_at) = 24),
  updated_at   TEXT    NOT NULL CHECK (length(updated_at) = 24),
  completed_at TEXT             CHECK ((completed = 1) = (completed_at IS NOT NULL)),
  -- 0003
  priority_rank  INTEGER GENERATED ALWAYS AS (CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 END) VIRTUAL,
  due_nulls_high TEXT    GENERATED ALWAYS AS (ifnull(due_at, '~')) VIRTUAL,
  due_nulls_low  TEXT    GENERATED ALWAYS AS (ifnull(due_at, '')) VIRTUAL,
  -- 0004
  version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
  seq          INTEGER NOT NULL DEFAULT 0,
  -- 0006
  number       INTEGER          CHECK (number >= 1),
  -- 0008
  recurrence   TEXT
               CHECK (recurrence IS NULL OR (json_valid(recurrence) AND json_type(recurrence) = 'object' AND due_at IS NOT NULL)),
  time_zone    TEXT    NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
  series_start TEXT
               CHECK ((series_start IS NULL) = (recurrence IS NULL) AND (series_start IS NULL OR length(series_start) = 24)),
  next_task_id TEXT             CHECK (next_task_id IS NULL OR length(next_task_id) = 36),
  remind_at    TEXT             CHECK (remind_at IS NULL OR length(remind_at) = 24)
) STRICT, WITHOUT ROWID;

-- No trigger exists on the new table yet, so the copy fires none: counters, versions and sequence
-- numbers stay as they are.
INSERT INTO tasks_rebuilt (id, user_id, title, description, completed, priority, due_at, tags, created_at, updated_at,
                           completed_at, version, seq, number, recurrence, time_zone, series_start, next_task_id, remind_at)
  SELECT id, user_id, title, description, completed, priority, due_at, tags, created_at, updated_at,
         completed_at, version, seq, number, recurrence, time_zone, series_start, next_task_id, remind_at
  FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_rebuilt RENAME TO tasks;

-- The list indexes (0003; src/tasks/list-repo.ts, SORTS, names them), less created_at and updated_at.
CREATE INDEX tasks_by_user_completed_number ON tasks (user_id, completed, number);
CREATE INDEX tasks_by_user_due_nulls_high ON tasks (user_id, due_nulls_high, id);
CREATE INDEX tasks_by_user_due_nulls_low ON tasks (user_id, due_nulls_low, id);
CREATE INDEX tasks_by_user_priority ON tasks (user_id, priority_rank, id);
CREATE INDEX tasks_by_user_title ON tasks (user_id, title COLLATE NOCASE, id);
-- The sync feed (0004), and the updatedAt sort.
CREATE INDEX tasks_by_user_seq ON tasks (user_id, seq);
-- GET /api/tasks/{number} (0006), and the createdAt sort.
CREATE UNIQUE INDEX tasks_by_user_number ON tasks (user_id, number);
-- Reminders (0008).
CREATE INDEX tasks_by_user_remind ON tasks (user_id, remind_at, id) WHERE remind_at IS NOT NULL;

-- The triggers in force after 0010, as they were.
CREATE TRIGGER tasks_owner_is_immutable BEFORE UPDATE OF user_id ON tasks
WHEN NEW.user_id IS NOT OLD.user_id
BEGIN
  SELECT RAISE(ABORT, 'tasks.user_id is immutable');
END;


CREATE TRIGGER tasks_number_is_next BEFORE INSERT ON tasks
WHEN NEW.number IS NOT coalesce((SELECT last_number FROM task_counts WHERE user_id = NEW.user_id), 0) + 1
BEGIN
  SELECT RAISE(ABORT, 'a new task''s number must be its user''s task_counts.last_number + 1');
END;


CREATE TRIGGER tasks_number_is_immutable BEFORE UPDATE OF number ON tasks
WHEN NEW.number IS NOT OLD.number
BEGIN
  SELECT RAISE(ABORT, 'tasks.number is immutable');
END;


CREATE TRIGGER task_reminders_on_insert AFTER INSERT ON tasks
WHEN NEW.remind_at IS NOT NULL
BEGIN
  INSERT INTO task_reminders (task_id, user_id, remind_at) VALUES (NEW.id, NEW.user_id, NEW.remind_at);
END;


CREATE TRIGGER task_reminders_on_update AFTER UPDATE OF remind_at ON tasks
WHEN NEW.remind_at IS NOT OLD.remind_at
BEGIN
  DELETE FROM task_reminders WHERE task_id = NEW.id;
  INSERT INTO task_reminders (task_id, user_id, remind_at)
    SELECT NEW.id, NEW.user_id, NEW.remind_at WHERE NEW.remind_at IS NOT NULL;
END;


CREATE TRIGGER task_reminders_on_delete AFTER DELETE ON tasks
BEGIN
  DELETE FROM task_reminders WHERE task_id = OLD.id;
END;


CREATE TRIGGER push_retries_on_task_delete AFTER DELETE ON tasks
BEGIN
  DELETE FROM push_retries WHERE task_id = OLD.id;
END;


CREATE TRIGGER tasks_version_bumps BEFORE UPDATE ON tasks
WHEN NEW.version IS NOT OLD.version + 1 AND (NEW.version IS NOT OLD.version OR NEW.seq IS OLD.seq)
BEGIN
  SELECT RAISE(ABORT, 'every write to a task must set version = version + 1');
END;


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


CREATE TRIGGER tasks_counted_on_insert AFTER INSERT ON tasks
WHEN NEW.seq <> 0
BEGIN
  INSERT INTO task_counts (user_id, n, last_number, seq, horizon) VALUES (NEW.user_id, 1, NEW.number, NEW.seq, NEW.seq - 1)
    ON CONFLICT (user_id) DO UPDATE SET n = n + 1, last_number = excluded.last_number, seq = excluded.seq,
      horizon = iif(seq = 0, excluded.horizon, horizon);
END;


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


CREATE TRIGGER tasks_numbered_after_update AFTER UPDATE ON tasks
WHEN NEW.seq IS OLD.seq
BEGIN
  UPDATE task_counts SET seq = seq + 1 WHERE user_id = NEW.user_id;
  UPDATE tasks SET seq = (SELECT seq FROM task_counts WHERE user_id = NEW.user_id) WHERE id = NEW.id;
END;


CREATE TRIGGER tasks_counted_on_delete AFTER DELETE ON tasks
BEGIN
  UPDATE task_counts SET n = n - 1, seq = seq + 1, tombstones = tombstones + 1 WHERE user_id = OLD.user_id;
  INSERT INTO task_tombstones (user_id, seq, id, deleted_at)
    VALUES (OLD.user_id, (SELECT seq FROM task_counts WHERE user_id = OLD.user_id), OLD.id,
            strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;

