-- The assistant's conversations (src/chat/): per user, numbered 1, 2, 3... like tasks (0006), each
-- holding its messages in order. Every statement on them binds the user as ?1 (src/conversations/repo.ts).
-- The bounds (conversations per user, messages per conversation, the length of each message) are
-- checked by the statements that write, against the counts these triggers keep, as for tasks (0002,
-- 0007), and the CHECKs below refuse anything longer than the code ever stores.

-- Per user: how many conversations they hold, and the last number handed out. The row outlives the
-- conversations, so a number is never handed out again after its conversation is deleted.
CREATE TABLE chat_counts (
  user_id       TEXT    NOT NULL PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 255),
  conversations INTEGER NOT NULL DEFAULT 0 CHECK (conversations >= 0),
  last_number   INTEGER NOT NULL DEFAULT 0 CHECK (last_number >= 0)
) STRICT, WITHOUT ROWID;

CREATE TABLE conversations (
  user_id    TEXT    NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  number     INTEGER NOT NULL CHECK (number >= 1),
  -- The start of the first message, for a list of conversations.
  title      TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 80),
  -- How many messages it holds, kept by the triggers below; also the last message's seq.
  messages   INTEGER NOT NULL DEFAULT 0 CHECK (messages >= 0),
  created_at TEXT    NOT NULL CHECK (length(created_at) = 24),
  updated_at TEXT    NOT NULL CHECK (length(updated_at) = 24),
  -- Also serves the user's list, newest first (user_id = ?1 ORDER BY number DESC).
  PRIMARY KEY (user_id, number)
) STRICT, WITHOUT ROWID;

CREATE TABLE chat_messages (
  user_id      TEXT    NOT NULL CHECK (length(user_id) BETWEEN 1 AND 255),
  conversation INTEGER NOT NULL CHECK (conversation >= 1),
  seq          INTEGER NOT NULL CHECK (seq >= 1),
  role         TEXT    NOT NULL CHECK (role IN ('user', 'assistant')),
  content      TEXT    NOT NULL CHECK (length(content) <= 8000),
  -- The tools the assistant ran in its turn: [{"name", "arguments", "result"}], results too long to
  -- keep replaced by a note (src/chat/stored.ts). Always [] on a user's message.
  tool_calls   TEXT    NOT NULL DEFAULT '[]'
               CHECK (json_valid(tool_calls) AND json_type(tool_calls) = 'array' AND length(tool_calls) <= 16000),
  created_at   TEXT    NOT NULL CHECK (length(created_at) = 24),
  -- Also serves a conversation's history, oldest or newest first.
  PRIMARY KEY (user_id, conversation, seq)
) STRICT, WITHOUT ROWID;

-- A new conversation takes its user's next number; the INSERT computes it, and this refuses any other.
CREATE TRIGGER conversations_number_is_next BEFORE INSERT ON conversations
WHEN NEW.number IS NOT coalesce((SELECT last_number FROM chat_counts WHERE user_id = NEW.user_id), 0) + 1
BEGIN
  SELECT RAISE(ABORT, 'a new conversation''s number must be its user''s chat_counts.last_number + 1');
END;

CREATE TRIGGER chat_counts_on_insert AFTER INSERT ON conversations
BEGIN
  INSERT INTO chat_counts (user_id, conversations, last_number) VALUES (NEW.user_id, 1, NEW.number)
    ON CONFLICT (user_id) DO UPDATE SET conversations = conversations + 1, last_number = NEW.number;
END;

-- A conversation's messages go with it.
CREATE TRIGGER chat_counts_on_delete AFTER DELETE ON conversations
BEGIN
  UPDATE chat_counts SET conversations = conversations - 1 WHERE user_id = OLD.user_id;
  DELETE FROM chat_messages WHERE user_id = OLD.user_id AND conversation = OLD.number;
END;

-- A message is the next of its conversation, which must exist; the INSERT computes its seq.
CREATE TRIGGER chat_messages_seq_is_next BEFORE INSERT ON chat_messages
WHEN NEW.seq IS NOT (SELECT messages FROM conversations WHERE user_id = NEW.user_id AND number = NEW.conversation) + 1
BEGIN
  SELECT RAISE(ABORT, 'a new message''s seq must be its conversation''s messages + 1');
END;

CREATE TRIGGER conversation_messages_on_insert AFTER INSERT ON chat_messages
BEGIN
  UPDATE conversations SET messages = NEW.seq, updated_at = NEW.created_at
    WHERE user_id = NEW.user_id AND number = NEW.conversation;
END;

-- Neither a conversation nor a message ever changes hands, number or place.
CREATE TRIGGER conversations_key_is_immutable BEFORE UPDATE OF user_id, number ON conversations
WHEN NEW.user_id IS NOT OLD.user_id OR NEW.number IS NOT OLD.number
BEGIN
  SELECT RAISE(ABORT, 'conversations.user_id and number are immutable');
END;

CREATE TRIGGER chat_messages_are_immutable BEFORE UPDATE ON chat_messages
BEGIN
  SELECT RAISE(ABORT, 'chat messages are never changed');
END;
