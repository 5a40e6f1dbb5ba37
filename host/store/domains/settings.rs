//! Owner settings: string values by key.

use serde::Serialize;

use super::SqlStore;
use crate::sql_params;
use crate::store::{StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub key: String,
    pub value: String,
    pub updated_at: i64,
}

#[async_trait::async_trait]
pub trait SettingsStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn set(&self, key: &str, value: &str) -> Result<(), StoreError>;
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Every setting, by key.
    async fn list(&self) -> Result<Vec<Setting>, StoreError>;
}

#[async_trait::async_trait]
impl SettingsStore for SqlStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.sql
            .query_opt(
                "SELECT value FROM settings WHERE key = $1",
                sql_params![key],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()
    }

    async fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.sql
            .execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                sql_params![key, value, now_ms()],
            )
            .await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let n = self
            .sql
            .execute("DELETE FROM settings WHERE key = $1", sql_params![key])
            .await?;
        Ok(n > 0)
    }

    async fn list(&self) -> Result<Vec<Setting>, StoreError> {
        self.sql
            .query(
                "SELECT key, value, updated_at FROM settings ORDER BY key",
                vec![],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(Setting {
                    key: r.text(0)?,
                    value: r.text(1)?,
                    updated_at: r.int(2)?,
                })
            })
            .collect()
    }
}
