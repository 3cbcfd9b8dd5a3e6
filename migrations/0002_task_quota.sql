-- Per-user task counts, so a create can check the quota in the same statement as its insert without
-- counting up to 10,000 rows. Triggers keep the count, so every insert and delete path (one task,
-- bulk, anything added later) updates it; no application code can forget.
CREATE TABLE task_counts (
  user_id TEXT    NOT NULL PRIMARY KEY,
  n       INTEGER NOT NULL CHECK (n >= 0)
) STRICT, WITHOUT ROWID;

INSERT INTO task_counts (user_id, n) SELECT user_id, COUNT(*) FROM tasks GROUP BY user_id;

CREATE TRIGGER task_counts_on_insert AFTER INSERT ON tasks
BEGIN
  INSERT OR IGNORE INTO task_counts (user_id, n) VALUES (NEW.user_id, 0);
  UPDATE task_counts SET n = n + 1 WHERE user_id = NEW.user_id;
END;

CREATE TRIGGER task_counts_on_delete AFTER DELETE ON tasks
BEGIN
  UPDATE task_counts SET n = n - 1 WHERE user_id = OLD.user_id;
END;

-- A task never changes hands: the counts (and every user_id = ?1 scope) rely on it.
CREATE TRIGGER tasks_owner_is_immutable BEFORE UPDATE OF user_id ON tasks
WHEN NEW.user_id IS NOT OLD.user_id
BEGIN
  SELECT RAISE(ABORT, 'tasks.user_id is immutable');
END;
