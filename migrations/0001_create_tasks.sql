-- The only schema source: `wrangler d1 migrations apply` (dev, deploy) and the test set-up both run it.
-- CHECK constraints mirror src/tasks/model.ts, so a bug in validation cannot store a bad row.
-- SQLite's length() counts characters (code points), which is also how the API counts them.
CREATE TABLE tasks (
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
  completed_at TEXT             CHECK ((completed = 1) = (completed_at IS NOT NULL))
) STRICT;

-- Serves the default list (newest first) and its keyset cursor: user_id = ? AND (created_at, id) < (?, ?).
CREATE INDEX tasks_by_user_created ON tasks (user_id, created_at DESC, id DESC);
-- The same list filtered by ?completed=, without reading the other half of the user's tasks.
CREATE INDEX tasks_by_user_completed_created ON tasks (user_id, completed, created_at DESC, id DESC);
