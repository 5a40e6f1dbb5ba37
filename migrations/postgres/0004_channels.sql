-- Channels (host/channels, host/gateway): verified webhook requests kept
-- until the component has handled them (a trap loses nothing; the host
-- redelivers), the provider event ids seen (dedupe), inbound messages from
-- emit through the agent to the delivered reply, paired users, and each
-- channel's health for `ironclaw status`.
CREATE TABLE channel_inbox (
    id          BIGSERIAL PRIMARY KEY,
    channel     TEXT NOT NULL,
    event_id    TEXT,
    request     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT,
    received_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX channel_inbox_event ON channel_inbox (channel, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX channel_inbox_state ON channel_inbox (state);

CREATE TABLE channel_messages (
    id          BIGSERIAL PRIMARY KEY,
    channel     TEXT NOT NULL,
    message_id  TEXT,
    message     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'replying', 'done', 'dropped', 'failed')),
    reply       TEXT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT,
    received_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX channel_messages_dedupe ON channel_messages (channel, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX channel_messages_state ON channel_messages (state);

CREATE TABLE channel_pairing (
    channel    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    code       TEXT NOT NULL,
    approved   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel, user_id)
);
CREATE UNIQUE INDEX channel_pairing_code ON channel_pairing (channel, code);

CREATE TABLE channel_health (
    channel          TEXT PRIMARY KEY,
    last_inbound_at  BIGINT,
    last_outbound_at BIGINT,
    last_error       TEXT,
    last_error_at    BIGINT,
    poller           TEXT,
    updated_at       BIGINT NOT NULL
);
