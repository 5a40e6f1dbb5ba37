-- Bumped in the same transaction as every change to the workspace vectors
-- (write, delete, reindex), by any process. A process that keeps the vectors
-- in memory for search compares it with the value in its read snapshot and
-- reloads when they differ, so writes from another process (the CLI while
-- `ironclaw run` serves) are never missed.
ALTER TABLE memory_index ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
