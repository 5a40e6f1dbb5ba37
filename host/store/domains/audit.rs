//! The append-only audit log: who did what, when. Entries are never updated
//! or deleted through this trait.

use serde::Serialize;

use super::SqlStore;
use crate::sql_params;
use crate::store::sql::Row;
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
}
