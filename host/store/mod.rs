//! Storage (DESIGN §7): narrow traits per domain, implemented for SQLite
//! (the embedded default) and PostgreSQL, with numbered migrations.

pub mod database;
pub mod domains;
pub mod migrate;
pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod url;

pub use database::Database;
pub use url::DatabaseUrl;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(String),
    #[error("cannot open {path}: {message}")]
    Open { path: String, message: String },
    #[error(transparent)]
    Migrate(#[from] migrate::MigrateError),
    #[error("{0}")]
    Unsupported(String),
    #[error("the database worker stopped: {0}")]
    Worker(String),
    #[error("{what} `{key}` does not exist")]
    NotFound { what: &'static str, key: String },
    /// The row exists but is not in a state that allows the change.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error(
        "storage quota of namespace `{namespace}` exceeded: {needed} bytes needed, quota is {quota}"
    )]
    QuotaExceeded {
        namespace: String,
        needed: u64,
        quota: u64,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// Milliseconds since the Unix epoch, the time unit of every table.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
