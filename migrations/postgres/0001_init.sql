-- IronClaw schema, version 1 (PostgreSQL). Times are Unix milliseconds.
-- Every integer is BIGINT, so one value type serves both backends. Names,
-- keys and paths sort bytewise (COLLATE "C"), as SQLite sorts them, whatever
-- the database's locale.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE settings (
    key        TEXT COLLATE "C" PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Key-value store of the `db` capability, namespaced per component.
CREATE TABLE kv (
    namespace  TEXT NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    value      BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace, key)
);

CREATE TABLE audit (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);

-- age-encrypted secret values; plaintext never stored.
CREATE TABLE secrets (
    name       TEXT COLLATE "C" PRIMARY KEY,
    ciphertext BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE components (
    name         TEXT COLLATE "C" PRIMARY KEY,
    version      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    manifest     TEXT NOT NULL,
    installed_at BIGINT NOT NULL
);

-- What the owner approved, bound to a component digest.
CREATE TABLE grants (
    component   TEXT NOT NULL,
    digest      TEXT NOT NULL,
    grant_json  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'pending', 'revoked')),
    approved_at BIGINT,
    PRIMARY KEY (component, digest)
);

CREATE TABLE conversations (
    id                 TEXT PRIMARY KEY,
    channel            TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    external_thread_id TEXT,
    state              TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversations_thread ON conversations (channel, user_id, COALESCE(external_thread_id, ''));

CREATE TABLE messages (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    tool_calls      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'failed', 'timed-out', 'cancelled')),
    spec        TEXT NOT NULL,
    result      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE job_events (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at      BIGINT NOT NULL,
    event   TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id, id);

CREATE TABLE routines (
    name       TEXT COLLATE "C" PRIMARY KEY,
    schedule   TEXT NOT NULL,
    spec       TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    last_run   BIGINT,
    created_at BIGINT NOT NULL
);

-- Workspace memory: path-addressed documents, chunked for search.
CREATE TABLE memory_documents (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path         TEXT COLLATE "C" NOT NULL UNIQUE,
    content      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- Words are indexed with the 'english' configuration (stemming, stopwords),
-- the counterpart of SQLite's porter tokenizer.
CREATE TABLE memory_chunks (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id BIGINT NOT NULL REFERENCES memory_documents (id) ON DELETE CASCADE,
    idx         BIGINT NOT NULL,
    text        TEXT NOT NULL,
    heading     TEXT,
    start_byte  BIGINT NOT NULL,
    end_byte    BIGINT NOT NULL,
    tsv         tsvector GENERATED ALWAYS AS (
                    to_tsvector('english', coalesce(heading, '') || ' ' || text)
                ) STORED,
    UNIQUE (document_id, idx)
);
CREATE INDEX memory_chunks_tsv ON memory_chunks USING gin (tsv);

-- Which embedder built the vector index. The vector table itself
-- (`memory_vec`, vector(N) with an HNSW cosine index) is created with the
-- embedder's dimensions on first use, as on SQLite.
CREATE TABLE memory_index (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    model      TEXT NOT NULL,
    dimensions BIGINT NOT NULL,
    built_at   BIGINT NOT NULL
);
