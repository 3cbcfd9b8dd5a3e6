-- Idempotency-Key records for POST /tasks (src/idempotency/, src/tasks/repo.ts insertTaskOnce).
-- A record is written in the same batch (one transaction) as the task it created, and only then:
-- a refused or failed create leaves no record. Keys are per user: the key is (user_id, key).
-- `response_body` is the exact 201 body replayed to a retry; it is kept even if the task is later
-- changed or deleted, as the original response was. Records older than 24 hours are ignored by
-- every request and deleted by the hourly Cron Trigger (src/idempotency/repo.ts).
CREATE TABLE idempotency_keys (
  user_id       TEXT    NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  key           TEXT    NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  -- SHA-256 (hex) of the validated request body: src/idempotency/key.ts.
  request_hash  TEXT    NOT NULL CHECK (length(request_hash) = 64),
  task_id       TEXT    NOT NULL CHECK (length(task_id) = 36),
  status        INTEGER NOT NULL CHECK (status = 201),
  response_body TEXT    NOT NULL CHECK (json_valid(response_body)),
  created_at    TEXT    NOT NULL CHECK (length(created_at) = 24),
  PRIMARY KEY (user_id, key)
) STRICT;

-- Serves the purge: created_at < ? without reading the live records.
CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at);
