-- IronClaw schema, version 1 (SQLite). Times are Unix milliseconds.

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Key-value store of the `db` capability, namespaced per component.
CREATE TABLE kv (
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);

-- age-encrypted secret values; plaintext never stored.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    ciphertext BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE components (
    name        TEXT PRIMARY KEY,
    version     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    manifest    TEXT NOT NULL,
    installed_at INTEGER NOT NULL
);

-- What the owner approved, bound to a component digest.
CREATE TABLE grants (
    component   TEXT NOT NULL,
    digest      TEXT NOT NULL,
    grant_json  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'pending', 'revoked')),
    approved_at INTEGER,
    PRIMARY KEY (component, digest)
);

CREATE TABLE conversations (
    id                 TEXT PRIMARY KEY,
    channel            TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    external_thread_id TEXT,
    state              TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX conversations_thread ON conversations (channel, user_id, COALESCE(external_thread_id, ''));

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    tool_calls      TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'failed', 'timed-out', 'cancelled')),
    spec        TEXT NOT NULL,
    result      TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE job_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at      INTEGER NOT NULL,
    event   TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id, id);

CREATE TABLE routines (
    name       TEXT PRIMARY KEY,
    schedule   TEXT NOT NULL,
    spec       TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    last_run   INTEGER,
    created_at INTEGER NOT NULL
);

-- Workspace memory: path-addressed documents, chunked for search.
CREATE TABLE memory_documents (
    id           INTEGER PRIMARY KEY,
    path         TEXT NOT NULL UNIQUE,
    content      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE memory_chunks (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES memory_documents (id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    text        TEXT NOT NULL,
    heading     TEXT,
    start_byte  INTEGER NOT NULL,
    end_byte    INTEGER NOT NULL,
    UNIQUE (document_id, idx)
);

-- Full-text index over chunks, kept in step by triggers.
CREATE VIRTUAL TABLE memory_chunks_fts USING fts5 (
    text, heading,
    content = 'memory_chunks', content_rowid = 'id',
    tokenize = 'porter unicode61'
);
CREATE TRIGGER memory_chunks_ai AFTER INSERT ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (rowid, text, heading) VALUES (new.id, new.text, new.heading);
END;
CREATE TRIGGER memory_chunks_ad AFTER DELETE ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (memory_chunks_fts, rowid, text, heading) VALUES ('delete', old.id, old.text, old.heading);
END;

-- Which embedder built the vector index (sqlite-vec `memory_vec`, created
-- with the embedder's dimensions on first use).
CREATE TABLE memory_index (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    model      TEXT NOT NULL,
    dimensions INTEGER NOT NULL,
    built_at   INTEGER NOT NULL
);
