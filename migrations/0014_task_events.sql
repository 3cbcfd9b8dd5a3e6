-- Task events (docs/events.md): one row per change of a task, written in the same statement as the
-- change, so that a change without its event, or an event without its change, cannot exist.
--   - Creates and updates are logged by the triggers below, reading NEW: no statement of the repos
--     writes the event itself. Who made the change rides on the task row, in `changed_by`, which every
--     write of the repos sets in its own INSERT or UPDATE (src/events/actor.ts): a JSON object with the
--     door, the OAuth client, whether the event is for webhook delivery, and the version it wrote.
--   - Deletes are logged by the repos' own INSERT ... SELECT, run just before the DELETE in the same
--     batch (src/events/repo.ts): a delete trigger would see only the door of the task's last write,
--     and it would log the deletions of an account's erasure (DELETE /me), which must leave nothing.
-- An event's `seq` is the change's own sequence number (migrations/0010): the task row's new `seq`,
-- or for a delete the tombstone's, so the log needs no counter of its own and is exactly the order
-- of the sync feed.
--
-- The table is its primary key and has no other index for a change that is not to be delivered, so
-- an event is one row written (docs/performance.md, "Rows written"). A change to be delivered
-- (WEBHOOK_URL set) adds its entry in task_events_pending, removed when it is delivered or given up.

ALTER TABLE tasks ADD COLUMN changed_by TEXT CHECK (changed_by IS NULL OR json_valid(changed_by));

CREATE TABLE task_events (
  user_id         TEXT    NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  seq             INTEGER NOT NULL,
  -- The delivery id (`webhook-id`): random, and the same on every retry of the event.
  id              TEXT    NOT NULL CHECK (length(id) = 36),
  type            TEXT    NOT NULL
                  CHECK (type IN ('task.created', 'task.updated', 'task.completed', 'task.reopened', 'task.deleted')),
  task_id         TEXT    NOT NULL CHECK (length(task_id) = 36),
  task_number     INTEGER NOT NULL CHECK (task_number >= 1),
  -- The task after the change (before it, for a delete), as the API shows it (src/tasks/model.ts).
  task            TEXT    NOT NULL CHECK (json_valid(task) AND json_type(task) = 'object'),
  door            TEXT    NOT NULL CHECK (door IN ('rest', 'api', 'mcp', 'chat', 'system')),
  client_id       TEXT             CHECK (client_id IS NULL OR length(client_id) BETWEEN 1 AND 255),
  created_at      TEXT    NOT NULL CHECK (length(created_at) = 24),
  -- Webhook delivery (src/events/deliver.ts): null when no webhook was configured for the change.
  delivery        TEXT             CHECK (delivery IS NULL OR delivery IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at TEXT             CHECK ((delivery = 'pending') = (next_attempt_at IS NOT NULL)),
  delivered_at    TEXT             CHECK ((delivery = 'delivered') = (delivered_at IS NOT NULL)),
  PRIMARY KEY (user_id, seq)
) STRICT, WITHOUT ROWID;

-- The events still to deliver, per user in order: the queue consumer's read, and the every-minute
-- sweep for events whose queue message was lost.
CREATE INDEX task_events_pending ON task_events (user_id, seq) WHERE delivery = 'pending';

-- The task as the API shows it, from the row just written. Kept equal to toTask (src/tasks/row.ts)
-- by test/events/log.test.ts; the same expression is src/events/repo.ts's TASK_JSON for deletes.
CREATE TRIGGER task_events_on_insert AFTER INSERT ON tasks
BEGIN
  INSERT INTO task_events (user_id, seq, id, type, task_id, task_number, task, door, client_id, created_at,
                           delivery, next_attempt_at)
  VALUES (
    NEW.user_id,
    -- A write that set no sequence number gets the next one afterwards (0010), which its event takes:
    -- this trigger, made later, runs before 0010's.
    iif(NEW.seq <> 0, NEW.seq, coalesce(nullif((SELECT seq FROM task_counts WHERE user_id = NEW.user_id), 0),
                                        CAST(unixepoch('subsec') * 1000000 AS INTEGER)) + 1),
    lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
          || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
    'task.created', NEW.id, NEW.number,
    json_object(
      'id', NEW.id, 'title', NEW.title, 'description', NEW.description,
      'completed', json(iif(NEW.completed = 1, 'true', 'false')), 'priority', NEW.priority, 'dueAt', NEW.due_at,
      'tags', json(NEW.tags), 'createdAt', NEW.created_at, 'updatedAt', NEW.updated_at,
      'completedAt', NEW.completed_at, 'version', NEW.version, 'number', NEW.number,
      'recurrence', json(NEW.recurrence), 'timeZone', NEW.time_zone, 'nextTaskId', NEW.next_task_id,
      'nextTaskNumber', (SELECT s.number FROM tasks AS s WHERE s.user_id = NEW.user_id AND s.id = NEW.next_task_id),
      'remindAt', NEW.remind_at),
    coalesce(NEW.changed_by ->> '$.door', 'system'),
    NEW.changed_by ->> '$.client',
    NEW.updated_at,
    iif(NEW.changed_by ->> '$.deliver', 'pending', NULL),
    iif(NEW.changed_by ->> '$.deliver', NEW.updated_at, NULL)
  );
END;

-- A write (the version moves: 0004); not the follow-up that only numbers a write (0010's
-- tasks_numbered_after_*), which changes `seq` alone.
CREATE TRIGGER task_events_on_update AFTER UPDATE ON tasks
WHEN NEW.version IS NOT OLD.version
BEGIN
  INSERT INTO task_events (user_id, seq, id, type, task_id, task_number, task, door, client_id, created_at,
                           delivery, next_attempt_at)
  VALUES (
    NEW.user_id,
    -- As on insert, for a write that set no sequence number.
    iif(NEW.seq IS NOT OLD.seq, NEW.seq, (SELECT seq FROM task_counts WHERE user_id = NEW.user_id) + 1),
    lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
          || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
    CASE WHEN OLD.completed = 0 AND NEW.completed = 1 THEN 'task.completed'
         WHEN OLD.completed = 1 AND NEW.completed = 0 THEN 'task.reopened'
         ELSE 'task.updated' END,
    NEW.id, NEW.number,
    json_object(
      'id', NEW.id, 'title', NEW.title, 'description', NEW.description,
      'completed', json(iif(NEW.completed = 1, 'true', 'false')), 'priority', NEW.priority, 'dueAt', NEW.due_at,
      'tags', json(NEW.tags), 'createdAt', NEW.created_at, 'updatedAt', NEW.updated_at,
      'completedAt', NEW.completed_at, 'version', NEW.version, 'number', NEW.number,
      'recurrence', json(NEW.recurrence), 'timeZone', NEW.time_zone, 'nextTaskId', NEW.next_task_id,
      'nextTaskNumber', (SELECT s.number FROM tasks AS s WHERE s.user_id = NEW.user_id AND s.id = NEW.next_task_id),
      'remindAt', NEW.remind_at),
    -- Only what this write set: a write that names no door (its changed_by is the previous write's,
    -- for another version) is logged as the server's, not as the last writer's.
    iif(NEW.changed_by ->> '$.version' IS NEW.version, coalesce(NEW.changed_by ->> '$.door', 'system'), 'system'),
    iif(NEW.changed_by ->> '$.version' IS NEW.version, NEW.changed_by ->> '$.client', NULL),
    NEW.updated_at,
    iif(NEW.changed_by ->> '$.deliver', 'pending', NULL),
    iif(NEW.changed_by ->> '$.deliver', NEW.updated_at, NULL)
  );
END;
