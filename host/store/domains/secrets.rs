//! Secret values as ciphertext only: the vault (age) encrypts before a value
//! reaches this store and decrypts after, so no plaintext touches the disk.

use serde::Serialize;

use super::SqlStore;
use crate::sql_params;
use crate::store::{StoreError, now_ms};

/// What may be shown about a secret: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRecord {
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[async_trait::async_trait]
pub trait SecretStore: Send + Sync {
    /// Stores (or replaces) the ciphertext of `name`.
    async fn put(&self, name: &str, ciphertext: &[u8]) -> Result<(), StoreError>;
    async fn ciphertext(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn delete(&self, name: &str) -> Result<bool, StoreError>;
    async fn list(&self) -> Result<Vec<SecretRecord>, StoreError>;
}

#[async_trait::async_trait]
impl SecretStore for SqlStore {
    async fn put(&self, name: &str, ciphertext: &[u8]) -> Result<(), StoreError> {
        let now = now_ms();
        self.sql
            .execute(
                "INSERT INTO secrets (name, ciphertext, created_at, updated_at) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
                sql_params![name, ciphertext, now],
            )
            .await?;
        Ok(())
    }

    async fn ciphertext(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.sql
            .query_opt(
                "SELECT ciphertext FROM secrets WHERE name = $1",
                sql_params![name],
            )
            .await?
            .map(|r| r.blob(0))
            .transpose()
    }

    async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let n = self
            .sql
            .execute("DELETE FROM secrets WHERE name = $1", sql_params![name])
            .await?;
        Ok(n > 0)
    }

    async fn list(&self) -> Result<Vec<SecretRecord>, StoreError> {
        self.sql
            .query(
                "SELECT name, created_at, updated_at FROM secrets ORDER BY name",
                vec![],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(SecretRecord {
                    name: r.text(0)?,
                    created_at: r.int(1)?,
                    updated_at: r.int(2)?,
                })
            })
            .collect()
    }
}
