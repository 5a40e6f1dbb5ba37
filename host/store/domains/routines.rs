//! Routines: named, scheduled work the agent runs by itself.

use serde::Serialize;

use super::SqlStore;
use crate::sql_params;
use crate::store::sql::Row;
use crate::store::{StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routine {
    pub name: String,
    /// A cron expression or interval, as the scheduler reads it.
    pub schedule: String,
    /// What to run, as JSON.
    pub spec: String,
    pub enabled: bool,
    pub last_run: Option<i64>,
    pub created_at: i64,
}

#[async_trait::async_trait]
pub trait RoutineStore: Send + Sync {
    /// Creates or replaces a routine (keeping its last run and enablement).
    async fn upsert(&self, name: &str, schedule: &str, spec: &str) -> Result<(), StoreError>;
    async fn routine(&self, name: &str) -> Result<Option<Routine>, StoreError>;
    async fn routines(&self) -> Result<Vec<Routine>, StoreError>;
    async fn delete(&self, name: &str) -> Result<bool, StoreError>;
    async fn set_enabled(&self, name: &str, enabled: bool) -> Result<bool, StoreError>;
    async fn mark_run(&self, name: &str, at: i64) -> Result<bool, StoreError>;
}

fn routine(r: &Row) -> Result<Routine, StoreError> {
    Ok(Routine {
        name: r.text(0)?,
        schedule: r.text(1)?,
        spec: r.text(2)?,
        enabled: r.bool(3)?,
        last_run: r.opt_int(4)?,
        created_at: r.int(5)?,
    })
}

#[async_trait::async_trait]
impl RoutineStore for SqlStore {
    async fn upsert(&self, name: &str, schedule: &str, spec: &str) -> Result<(), StoreError> {
        self.sql
            .execute(
                "INSERT INTO routines (name, schedule, spec, enabled, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO UPDATE SET schedule = excluded.schedule, spec = excluded.spec",
                sql_params![name, schedule, spec, true, now_ms()],
            )
            .await?;
        Ok(())
    }

    async fn routine(&self, name: &str) -> Result<Option<Routine>, StoreError> {
        self.sql
            .query_opt(
                "SELECT name, schedule, spec, enabled, last_run, created_at FROM routines WHERE name = $1",
                sql_params![name],
            )
            .await?
            .as_ref()
            .map(routine)
            .transpose()
    }

    async fn routines(&self) -> Result<Vec<Routine>, StoreError> {
        self.sql
            .query(
                "SELECT name, schedule, spec, enabled, last_run, created_at FROM routines ORDER BY name",
                vec![],
            )
            .await?
            .iter()
            .map(routine)
            .collect()
    }

    async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let n = self
            .sql
            .execute("DELETE FROM routines WHERE name = $1", sql_params![name])
            .await?;
        Ok(n > 0)
    }

    async fn set_enabled(&self, name: &str, enabled: bool) -> Result<bool, StoreError> {
        let n = self
            .sql
            .execute(
                "UPDATE routines SET enabled = $2 WHERE name = $1",
                sql_params![name, enabled],
            )
            .await?;
        Ok(n > 0)
    }

    async fn mark_run(&self, name: &str, at: i64) -> Result<bool, StoreError> {
        let n = self
            .sql
            .execute(
                "UPDATE routines SET last_run = $2 WHERE name = $1",
                sql_params![name, at],
            )
            .await?;
        Ok(n > 0)
    }
}
