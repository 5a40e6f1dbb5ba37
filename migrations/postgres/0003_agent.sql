-- The agent's turn state (host/agent): which turn each message belongs to
-- and whether it is still part of the conversation the model sees
-- (`visible`), undone and redoable (`undone`), or folded into the
-- conversation's summary or cleared (`hidden`).
ALTER TABLE messages ADD COLUMN turn BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN visibility TEXT NOT NULL DEFAULT 'visible'
    CHECK (visibility IN ('visible', 'undone', 'hidden'));
CREATE INDEX messages_turn ON messages (conversation_id, turn);

-- What compaction kept of the hidden messages.
ALTER TABLE conversations ADD COLUMN summary TEXT;

-- A tool call waiting for the owner's decision; at most one per
-- conversation. Survives restarts: the turn resumes when it is answered.
CREATE TABLE agent_approvals (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    turn            BIGINT NOT NULL,
    tool_call_id    TEXT NOT NULL,
    tool            TEXT NOT NULL,
    arguments       TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

-- Tools the owner approved "always" for a channel user.
CREATE TABLE agent_tool_allow (
    channel    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    tool       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel, user_id, tool)
);

-- The thread a channel user is talking in (`/thread switch`).
CREATE TABLE agent_current_thread (
    channel         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    PRIMARY KEY (channel, user_id)
);

-- Every tool call the agent ran, with what it returned.
CREATE TABLE agent_tool_calls (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    turn            BIGINT NOT NULL,
    tool_call_id    TEXT NOT NULL,
    tool            TEXT NOT NULL,
    arguments       TEXT NOT NULL,
    output          TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'denied')),
    duration_ms     BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX agent_tool_calls_conversation ON agent_tool_calls (conversation_id, id);
