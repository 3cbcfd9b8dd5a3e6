-- One index per sort of GET /tasks, each (user_id, <sort key>, id), so that every sort, in either
-- direction and from any cursor, is an index range: no scan of the user's tasks, no sort step.
-- src/tasks/repo.ts (SORTS) names these columns; test/rows-read.test.ts checks each plan.
--
-- A row-value range such as (key, id) >= (?, ?) can seek an index only when `key` is a column, not
-- an expression, so the keys that are not plain columns are VIRTUAL generated columns: they
-- take no storage, cannot drift from the columns they derive from, and only their indexes hold them.

-- Priority by rank, not alphabetically. Same order as PRIORITIES in src/tasks/schema.ts.
ALTER TABLE tasks ADD COLUMN priority_rank INTEGER
  GENERATED ALWAYS AS (CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 END) VIRTUAL;

-- Tasks without a due date come last in both directions. SQLite sorts NULL first ascending, and a
-- row-value comparison with NULL matches nothing, so each direction stands a sentinel in for NULL:
-- '~' sorts after every date (dates start with a digit), '' before every date.
ALTER TABLE tasks ADD COLUMN due_nulls_high TEXT GENERATED ALWAYS AS (ifnull(due_at, '~')) VIRTUAL;
ALTER TABLE tasks ADD COLUMN due_nulls_low TEXT GENERATED ALWAYS AS (ifnull(due_at, '')) VIRTUAL;

CREATE INDEX tasks_by_user_updated ON tasks (user_id, updated_at, id);
-- ?sort=dueAt reads this one forwards ...
CREATE INDEX tasks_by_user_due_nulls_high ON tasks (user_id, due_nulls_high, id);
-- ... and ?sort=-dueAt this one backwards.
CREATE INDEX tasks_by_user_due_nulls_low ON tasks (user_id, due_nulls_low, id);
CREATE INDEX tasks_by_user_priority ON tasks (user_id, priority_rank, id);
-- Titles sort case-insensitively (ASCII letters only, as SQLite's NOCASE folds), ties by id.
CREATE INDEX tasks_by_user_title ON tasks (user_id, title COLLATE NOCASE, id);
