-- Per-user task numbers: 1, 2, 3... in creation order, never reused after a delete, never changed.
-- The /api routes (src/compat/) name tasks by them, as the FastAPI backend's integer ids did.
--
-- The one INSERT of a task (src/tasks/repo.ts) sets number to the user's last number + 1 in the
-- statement itself, so the response can carry it (RETURNING shows values from before AFTER
-- triggers). The schema refuses any other number, so a write path that forgets it fails instead
-- of storing a gap, a duplicate or a NULL.

ALTER TABLE tasks ADD COLUMN number INTEGER CHECK (number >= 1);

-- The last number handed out, per user. The row outlives the user's tasks (0002 never deletes it),
-- so a number is not handed out again after its task, or all of them, are deleted.
ALTER TABLE task_counts ADD COLUMN last_number INTEGER NOT NULL DEFAULT 0 CHECK (last_number >= 0);

-- Existing tasks are numbered oldest first. Setting a number is a write like any other: the version
-- goes up (the task now shows a number, so its old ETag no longer describes it), and the sync
-- triggers give it a new sequence number, so syncing clients fetch it again.
UPDATE tasks SET number = numbered.n, version = version + 1
FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS n FROM tasks) AS numbered
WHERE tasks.id = numbered.id;
UPDATE task_counts SET last_number = coalesce((SELECT max(number) FROM tasks WHERE tasks.user_id = task_counts.user_id), 0);

-- Serves GET /api/tasks/{number}: user_id = ?1 AND number = ?2 is one index seek, and no two of a
-- user's tasks can share a number, however concurrent their creates.
CREATE UNIQUE INDEX tasks_by_user_number ON tasks (user_id, number);

CREATE TRIGGER tasks_number_is_next BEFORE INSERT ON tasks
WHEN NEW.number IS NOT coalesce((SELECT last_number FROM task_counts WHERE user_id = NEW.user_id), 0) + 1
BEGIN
  SELECT RAISE(ABORT, 'a new task''s number must be its user''s task_counts.last_number + 1');
END;

-- An upsert, so that it is right whichever of this and task_counts_on_insert (0002) fires first.
CREATE TRIGGER task_counts_last_number AFTER INSERT ON tasks
BEGIN
  INSERT INTO task_counts (user_id, n, last_number) VALUES (NEW.user_id, 0, NEW.number)
    ON CONFLICT (user_id) DO UPDATE SET last_number = NEW.number;
END;

CREATE TRIGGER tasks_number_is_immutable BEFORE UPDATE OF number ON tasks
WHEN NEW.number IS NOT OLD.number
BEGIN
  SELECT RAISE(ABORT, 'tasks.number is immutable');
END;
