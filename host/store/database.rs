//! One handle on whichever backend `database.url` names, handing out the
//! narrow per-domain stores. Nothing above this file knows which backend it
//! talks to.

use std::sync::Arc;

use super::StoreError;
use super::domains::SqlStore;
use super::domains::{
    AgentStore, AuditLog, ComponentStore, ConversationStore, JobStore, KvStore, LlmUsageStore,
    RoutineStore, SecretStore, SettingsStore,
};
use super::migrate::MigrationStatus;
use super::postgres::PgDb;
use super::postgres::memory::PgMemory;
use super::sql::Sql;
use super::sqlite::SqliteDb;
use super::sqlite::memory::SqliteMemory;
use super::url::DatabaseUrl;
use crate::memory::MemoryStore;
use crate::memory::embedder::Embedder;

#[derive(Clone)]
pub enum Database {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

impl Database {
    /// Opens (SQLite: creating the file) without migrating.
    pub async fn open(url: &DatabaseUrl) -> Result<Database, StoreError> {
        match url {
            DatabaseUrl::Sqlite(path) => {
                let path = path.clone();
                // Opening touches the file system: keep it off the async workers.
                let db = tokio::task::spawn_blocking(move || SqliteDb::open(&path))
                    .await
                    .map_err(|e| StoreError::Worker(e.to_string()))??;
                Ok(Database::Sqlite(db))
            }
            DatabaseUrl::Postgres(url) => Ok(Database::Postgres(PgDb::open(url).await?)),
        }
    }

    /// Opens and applies pending migrations.
    pub async fn open_migrated(url: &DatabaseUrl) -> Result<Database, StoreError> {
        let db = Database::open(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// For people and logs: never a password.
    pub fn display(&self) -> String {
        match self {
            Database::Sqlite(db) => format!("sqlite://{}", db.path().display()),
            Database::Postgres(db) => db.display().to_string(),
        }
    }

    pub async fn migrate(&self) -> Result<Vec<u32>, StoreError> {
        match self {
            Database::Sqlite(db) => db.migrate().await,
            Database::Postgres(db) => db.migrate().await,
        }
    }

    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>, StoreError> {
        match self {
            Database::Sqlite(db) => db.migration_status().await,
            Database::Postgres(db) => db.migration_status().await,
        }
    }

    pub fn memory(&self, embedder: Arc<dyn Embedder>) -> Arc<dyn MemoryStore> {
        match self {
            Database::Sqlite(db) => Arc::new(SqliteMemory::new(db.clone(), embedder)),
            Database::Postgres(db) => Arc::new(PgMemory::new(db.clone(), embedder)),
        }
    }

    /// Raw statements on this backend (`$1` placeholders), for
    /// maintenance and checks; the domain stores below are the normal way in.
    pub fn executor(&self) -> Arc<dyn Sql> {
        match self {
            Database::Sqlite(db) => Arc::new(db.clone()),
            Database::Postgres(db) => Arc::new(db.clone()),
        }
    }

    fn sql(&self) -> SqlStore {
        SqlStore::new(self.executor())
    }

    pub fn settings(&self) -> Arc<dyn SettingsStore> {
        Arc::new(self.sql())
    }
    pub fn kv(&self) -> Arc<dyn KvStore> {
        Arc::new(self.sql())
    }
    pub fn audit(&self) -> Arc<dyn AuditLog> {
        Arc::new(self.sql())
    }
    pub fn secrets(&self) -> Arc<dyn SecretStore> {
        Arc::new(self.sql())
    }
    pub fn components(&self) -> Arc<dyn ComponentStore> {
        Arc::new(self.sql())
    }
    pub fn conversations(&self) -> Arc<dyn ConversationStore> {
        Arc::new(self.sql())
    }
    pub fn jobs(&self) -> Arc<dyn JobStore> {
        Arc::new(self.sql())
    }
    pub fn routines(&self) -> Arc<dyn RoutineStore> {
        Arc::new(self.sql())
    }
    pub fn agent(&self) -> Arc<dyn AgentStore> {
        Arc::new(self.sql())
    }
    pub fn llm_usage(&self) -> Arc<dyn LlmUsageStore> {
        Arc::new(self.sql())
    }
    pub fn channels(&self) -> Arc<dyn crate::store::domains::ChannelStore> {
        Arc::new(self.sql())
    }
}
