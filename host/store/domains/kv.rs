//! The key-value store behind the `db` capability: one namespace per
//! component, a byte quota per namespace (keys and values both count).

use super::SqlStore;
use crate::sql_params;
use crate::store::sql::{Dialect, Stmt};
use crate::store::{StoreError, now_ms};

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 512;

#[async_trait::async_trait]
pub trait KvStore: Send + Sync {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` unless the namespace would then hold more than
    /// `quota_bytes` (`QuotaExceeded`, and nothing changes).
    async fn set(
        &self,
        namespace: &str,
        key: &str,
        value: &[u8],
        quota_bytes: u64,
    ) -> Result<(), StoreError>;
    async fn delete(&self, namespace: &str, key: &str) -> Result<bool, StoreError>;
    /// Keys starting with `prefix`, sorted, at most `limit`.
    async fn list_keys(
        &self,
        namespace: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Bytes the namespace holds (keys plus values).
    async fn usage(&self, namespace: &str) -> Result<u64, StoreError>;
}

fn check_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(StoreError::InvalidInput(format!(
            "a key must be 1 to {MAX_KEY_BYTES} bytes long (got {})",
            key.len()
        )));
    }
    Ok(())
}

#[async_trait::async_trait]
impl KvStore for SqlStore {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.sql
            .query_opt(
                "SELECT value FROM kv WHERE namespace = $1 AND key = $2",
                sql_params![namespace, key],
            )
            .await?
            .map(|r| r.blob(0))
            .transpose()
    }

    async fn set(
        &self,
        namespace: &str,
        key: &str,
        value: &[u8],
        quota_bytes: u64,
    ) -> Result<(), StoreError> {
        check_key(key)?;
        let quota = i64::try_from(quota_bytes).unwrap_or(i64::MAX);
        let mut stmts = Vec::new();
        if self.sql.dialect() == Dialect::Postgres {
            // SQLite's writer transaction already serialises writers; on
            // PostgreSQL two writers could each pass the quota check below
            // without seeing the other, so the namespace is locked first.
            stmts.push(Stmt::new(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 11))",
                sql_params![namespace],
            ));
        }
        stmts.push(Stmt::new(
            "INSERT INTO kv (namespace, key, value, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            sql_params![namespace, key, value, now_ms()],
        ));
        // Changes a row only while the namespace, new value included, fits.
        stmts.push(Stmt::guarded(
            "UPDATE kv SET updated_at = updated_at WHERE namespace = $1 AND key = $2
             AND (SELECT COALESCE(SUM(octet_length(key) + octet_length(value)), 0) FROM kv WHERE namespace = $1) <= $3",
            sql_params![namespace, key, quota],
        ));
        if self.sql.batch(stmts).await? {
            return Ok(());
        }
        let others = self.usage(namespace).await?;
        let old = self
            .get(namespace, key)
            .await?
            .map_or(0, |v| (v.len() + key.len()) as u64);
        Err(StoreError::QuotaExceeded {
            namespace: namespace.to_string(),
            needed: others - old + (key.len() + value.len()) as u64,
            quota: quota_bytes,
        })
    }

    async fn delete(&self, namespace: &str, key: &str) -> Result<bool, StoreError> {
        let n = self
            .sql
            .execute(
                "DELETE FROM kv WHERE namespace = $1 AND key = $2",
                sql_params![namespace, key],
            )
            .await?;
        Ok(n > 0)
    }

    async fn list_keys(
        &self,
        namespace: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        // substr/length rather than LIKE: a prefix holding `%` or `_` must
        // match literally on both backends.
        self.sql
            .query(
                "SELECT key FROM kv WHERE namespace = $1
                 AND substr(key, 1, length(CAST($2 AS TEXT))) = CAST($2 AS TEXT)
                 ORDER BY key LIMIT $3",
                sql_params![namespace, prefix, limit as i64],
            )
            .await?
            .iter()
            .map(|r| r.text(0))
            .collect()
    }

    async fn usage(&self, namespace: &str) -> Result<u64, StoreError> {
        let row = self
            .sql
            .query_opt(
                "SELECT CAST(COALESCE(SUM(octet_length(key) + octet_length(value)), 0) AS BIGINT) FROM kv WHERE namespace = $1",
                sql_params![namespace],
            )
            .await?;
        Ok(row
            .map(|r| r.int(0))
            .transpose()?
            .map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }
}
