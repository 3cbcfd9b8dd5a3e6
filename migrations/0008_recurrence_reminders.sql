-- Recurring tasks (src/recurrence/) and due-time reminders (src/reminders/).

-- The rule, as the API shows it, in JSON (validated by src/recurrence/rule.ts). A rule needs a due date.
ALTER TABLE tasks ADD COLUMN recurrence TEXT
  CHECK (recurrence IS NULL OR (json_valid(recurrence) AND json_type(recurrence) = 'object' AND due_at IS NOT NULL));
-- The IANA zone occurrences keep their wall-clock time in (checked against Intl by the API).
ALTER TABLE tasks ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64);
-- The series' first due date (RFC 5545's DTSTART): it anchors the day of the month, the wall-clock
-- time and the count. Copied to each successor; set anew when the rule, zone or due date is changed.
ALTER TABLE tasks ADD COLUMN series_start TEXT
  CHECK ((series_start IS NULL) = (recurrence IS NULL) AND (series_start IS NULL OR length(series_start) = 24));
-- The task that completing this one created; set once, so a series advances exactly once per task.
ALTER TABLE tasks ADD COLUMN next_task_id TEXT CHECK (next_task_id IS NULL OR length(next_task_id) = 36);
ALTER TABLE tasks ADD COLUMN remind_at TEXT CHECK (remind_at IS NULL OR length(remind_at) = 24);

-- Serves ?remindBefore= / ?remindAfter= (src/tasks/repo.ts): a range of the user's reminders.
CREATE INDEX tasks_by_user_remind ON tasks (user_id, remind_at, id) WHERE remind_at IS NOT NULL;

-- One row per task with a reminder: when it is due and when it was sent. Kept apart from tasks so
-- that sending a reminder changes neither the task's version (its ETag) nor the sync feed. Triggers
-- keep it, so that every write path arms, re-arms and drops reminders.
CREATE TABLE task_reminders (
  task_id   TEXT NOT NULL PRIMARY KEY CHECK (length(task_id) = 36),
  user_id   TEXT NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  remind_at TEXT NOT NULL CHECK (length(remind_at) = 24),
  sent_at   TEXT CHECK (sent_at IS NULL OR length(sent_at) = 24)
) STRICT, WITHOUT ROWID;
-- Serves the Cron Trigger's claim: the unsent reminders in a time range, oldest first.
CREATE INDEX task_reminders_unsent ON task_reminders (remind_at) WHERE sent_at IS NULL;

CREATE TRIGGER task_reminders_on_insert AFTER INSERT ON tasks
WHEN NEW.remind_at IS NOT NULL
BEGIN
  INSERT INTO task_reminders (task_id, user_id, remind_at) VALUES (NEW.id, NEW.user_id, NEW.remind_at);
END;

-- A changed remindAt re-arms the reminder (unsent again); a cleared one drops it.
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
