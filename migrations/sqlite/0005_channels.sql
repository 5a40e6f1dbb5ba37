-- Channels (host/channels, host/gateway): verified webhook requests kept
-- until the component has handled them (a trap loses nothing; the host
-- redelivers), the provider event ids seen (dedupe), inbound messages from
-- emit through the agent to the delivered reply, paired users, and each
-- channel's health for `ironclaw status`.
CREATE TABLE channel_inbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT NOT NULL,
    event_id    TEXT,
    request     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    received_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX channel_inbox_event ON channel_inbox (channel, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX channel_inbox_state ON channel_inbox (state);

CREATE TABLE channel_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT NOT NULL,
    message_id  TEXT,
    message     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'replying', 'done', 'dropped', 'failed')),
    reply       TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    received_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX channel_messages_dedupe ON channel_messages (channel, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX channel_messages_state ON channel_messages (state);

CREATE TABLE channel_pairing (
    channel    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    code       TEXT NOT NULL,
    approved   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (channel, user_id)
);
CREATE UNIQUE INDEX channel_pairing_code ON channel_pairing (channel, code);

CREATE TABLE channel_health (
    channel          TEXT PRIMARY KEY,
    last_inbound_at  INTEGER,
    last_outbound_at INTEGER,
    last_error       TEXT,
    last_error_at    INTEGER,
    poller           TEXT,
    updated_at       INTEGER NOT NULL
);
