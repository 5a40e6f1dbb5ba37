//! The append-only audit log: who did what, when. Entries are never updated
//! or deleted through this trait.

use serde::Serialize;

use super::SqlStore;
use crate::sql_params;
use crate::store::sql::{Row, Stmt};
use crate::store::{StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry<'a> {
    /// `owner`, `host`, or a component name.
    pub actor: &'a str,
    /// A short verb phrase: `secret.read`, `component.install`.
    pub action: &'a str,
    /// Structured detail (JSON by convention); never a secret value.
    pub detail: &'a str,
}

/// An entry with the time it happened, for [`AuditLog::append_many`]: a
/// writer that batches stamps each record when it is made, not when the
/// batch reaches the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampedEntry<'a> {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub entry: AuditEntry<'a>,
}

/// Which records [`AuditLog::query`] returns; `None` filters nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery<'a> {
    /// Exactly this actor.
    pub actor: Option<&'a str>,
    /// At or after this time (milliseconds since the Unix epoch).
    pub since_ms: Option<i64>,
    /// Actions starting with this, byte for byte (`db.` or `http.request`).
    pub action_prefix: Option<&'a str>,
    /// At most this many, the newest.
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

#[async_trait::async_trait]
pub trait AuditLog: Send + Sync {
    /// Records an entry; returns its id (ids increase with time).
    async fn append(&self, entry: AuditEntry<'_>) -> Result<i64, StoreError>;
    /// The newest `limit` entries, newest first, optionally of one actor.
    async fn recent(
        &self,
        limit: usize,
        actor: Option<&str>,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    /// Records every entry in one transaction: all or none.
    async fn append_many(&self, entries: &[StampedEntry<'_>]) -> Result<(), StoreError>;
    /// The newest `query.limit` records matching every filter, newest first
    /// (by time, then by id for records of the same millisecond).
    async fn query(&self, query: &AuditQuery<'_>) -> Result<Vec<AuditRecord>, StoreError>;
}

fn record(r: &Row) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        id: r.int(0)?,
        at: r.int(1)?,
        actor: r.text(2)?,
        action: r.text(3)?,
        detail: r.text(4)?,
    })
}

#[async_trait::async_trait]
impl AuditLog for SqlStore {
    async fn append(&self, e: AuditEntry<'_>) -> Result<i64, StoreError> {
        let row = self
            .sql
            .query_opt(
                "INSERT INTO audit (at, actor, action, detail) VALUES ($1, $2, $3, $4) RETURNING id",
                sql_params![now_ms(), e.actor, e.action, e.detail],
            )
            .await?
            .ok_or_else(|| StoreError::Database("audit insert returned no id".into()))?;
        row.int(0)
    }

    async fn recent(
        &self,
        limit: usize,
        actor: Option<&str>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.sql
            .query(
                "SELECT id, at, actor, action, detail FROM audit
                 WHERE CAST($1 AS TEXT) IS NULL OR actor = $1
                 ORDER BY id DESC LIMIT $2",
                sql_params![actor, limit as i64],
            )
            .await?
            .iter()
            .map(record)
            .collect()
    }

    async fn append_many(&self, entries: &[StampedEntry<'_>]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let stmts = entries
            .iter()
            .map(|e| {
                Stmt::new(
                    "INSERT INTO audit (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
                    sql_params![e.at, e.entry.actor, e.entry.action, e.entry.detail],
                )
            })
            .collect();
        // No statement is guarded, so the batch is never rolled back for
        // changing nothing: `false` cannot come back.
        self.sql.batch(stmts).await.map(|_| ())
    }

    async fn query(&self, q: &AuditQuery<'_>) -> Result<Vec<AuditRecord>, StoreError> {
        // substr/length rather than LIKE: `_` is common in action names and
        // must match literally on both backends.
        self.sql
            .query(
                "SELECT id, at, actor, action, detail FROM audit
                 WHERE (CAST($1 AS TEXT) IS NULL OR actor = $1)
                 AND (CAST($2 AS BIGINT) IS NULL OR at >= $2)
                 AND (CAST($3 AS TEXT) IS NULL
                      OR substr(action, 1, length(CAST($3 AS TEXT))) = CAST($3 AS TEXT))
                 ORDER BY at DESC, id DESC LIMIT $4",
                sql_params![
                    q.actor,
                    q.since_ms,
                    q.action_prefix,
                    i64::try_from(q.limit).unwrap_or(i64::MAX)
                ],
            )
            .await?
            .iter()
            .map(record)
            .collect()
    }
}
