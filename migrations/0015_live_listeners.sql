-- Live updates (docs/live.md): until when the user may have a socket open on GET /tasks/live, in ms
-- since the epoch. The user's Durable Object raises it as it accepts a socket, in the statement that
-- reads the sync token the socket starts from; every write reads it in its own statement and pokes
-- the object only while it lies ahead, so a user nobody listens for costs no call to the object.
-- Never lowered: a socket closed early only costs a poke nobody hears, never a change a socket misses.
ALTER TABLE task_counts ADD COLUMN live_until INTEGER NOT NULL DEFAULT 0 CHECK (live_until >= 0);
