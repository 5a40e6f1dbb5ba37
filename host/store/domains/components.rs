//! Installed components and the owner's grants, each grant bound to the
//! exact digest it was approved for (DESIGN §3).

use serde::Serialize;

use super::SqlStore;
use crate::sql_params;
use crate::store::sql::{Row, Stmt};
use crate::store::{StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentRecord {
    pub name: String,
    pub version: String,
    pub kind: String,
    /// blake3 of the `.wasm`, hex.
    pub digest: String,
    /// The manifest (component.toml) as installed.
    pub manifest: String,
    pub installed_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrantStatus {
    Active,
    Pending,
    Revoked,
}

impl GrantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Active => "active",
            GrantStatus::Pending => "pending",
            GrantStatus::Revoked => "revoked",
        }
    }

    fn parse(s: &str) -> Result<GrantStatus, StoreError> {
        match s {
            "active" => Ok(GrantStatus::Active),
            "pending" => Ok(GrantStatus::Pending),
            "revoked" => Ok(GrantStatus::Revoked),
            other => Err(StoreError::Database(format!(
                "unknown grant status `{other}`"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantRecord {
    pub component: String,
    pub digest: String,
    /// The granted capabilities, as JSON.
    pub grant_json: String,
    pub status: GrantStatus,
    pub approved_at: Option<i64>,
}

#[async_trait::async_trait]
pub trait ComponentStore: Send + Sync {
    /// Records an install (replacing the previous version's record).
    async fn record_install(&self, c: &ComponentRecord) -> Result<(), StoreError>;
    async fn component(&self, name: &str) -> Result<Option<ComponentRecord>, StoreError>;
    async fn components(&self) -> Result<Vec<ComponentRecord>, StoreError>;
    /// Removes the component and every grant it had.
    async fn remove(&self, name: &str) -> Result<bool, StoreError>;
    async fn put_grant(&self, g: &GrantRecord) -> Result<(), StoreError>;
    async fn grant(&self, component: &str, digest: &str)
    -> Result<Option<GrantRecord>, StoreError>;
    async fn grants(&self, component: &str) -> Result<Vec<GrantRecord>, StoreError>;
    /// `false` when there is no such grant.
    async fn set_grant_status(
        &self,
        component: &str,
        digest: &str,
        status: GrantStatus,
    ) -> Result<bool, StoreError>;
}

fn component(r: &Row) -> Result<ComponentRecord, StoreError> {
    Ok(ComponentRecord {
        name: r.text(0)?,
        version: r.text(1)?,
        kind: r.text(2)?,
        digest: r.text(3)?,
        manifest: r.text(4)?,
        installed_at: r.int(5)?,
    })
}

fn grant(r: &Row) -> Result<GrantRecord, StoreError> {
    Ok(GrantRecord {
        component: r.text(0)?,
        digest: r.text(1)?,
        grant_json: r.text(2)?,
        status: GrantStatus::parse(&r.text(3)?)?,
        approved_at: r.opt_int(4)?,
    })
}

#[async_trait::async_trait]
impl ComponentStore for SqlStore {
    async fn record_install(&self, c: &ComponentRecord) -> Result<(), StoreError> {
        self.sql
            .execute(
                "INSERT INTO components (name, version, kind, digest, manifest, installed_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (name) DO UPDATE SET version = excluded.version, kind = excluded.kind,
                   digest = excluded.digest, manifest = excluded.manifest, installed_at = excluded.installed_at",
                sql_params![c.name.as_str(), c.version.as_str(), c.kind.as_str(), c.digest.as_str(), c.manifest.as_str(), c.installed_at],
            )
            .await?;
        Ok(())
    }

    async fn component(&self, name: &str) -> Result<Option<ComponentRecord>, StoreError> {
        self.sql
            .query_opt(
                "SELECT name, version, kind, digest, manifest, installed_at FROM components WHERE name = $1",
                sql_params![name],
            )
            .await?
            .as_ref()
            .map(component)
            .transpose()
    }

    async fn components(&self) -> Result<Vec<ComponentRecord>, StoreError> {
        self.sql
            .query(
                "SELECT name, version, kind, digest, manifest, installed_at FROM components ORDER BY name",
                vec![],
            )
            .await?
            .iter()
            .map(component)
            .collect()
    }

    async fn remove(&self, name: &str) -> Result<bool, StoreError> {
        self.sql
            .batch(vec![
                Stmt::new("DELETE FROM grants WHERE component = $1", sql_params![name]),
                Stmt::guarded("DELETE FROM components WHERE name = $1", sql_params![name]),
            ])
            .await
    }

    async fn put_grant(&self, g: &GrantRecord) -> Result<(), StoreError> {
        self.sql
            .execute(
                "INSERT INTO grants (component, digest, grant_json, status, approved_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (component, digest) DO UPDATE SET grant_json = excluded.grant_json,
                   status = excluded.status, approved_at = excluded.approved_at",
                sql_params![g.component.as_str(), g.digest.as_str(), g.grant_json.as_str(), g.status.as_str(), g.approved_at],
            )
            .await?;
        Ok(())
    }

    async fn grant(
        &self,
        component: &str,
        digest: &str,
    ) -> Result<Option<GrantRecord>, StoreError> {
        self.sql
            .query_opt(
                "SELECT component, digest, grant_json, status, approved_at FROM grants WHERE component = $1 AND digest = $2",
                sql_params![component, digest],
            )
            .await?
            .as_ref()
            .map(grant)
            .transpose()
    }

    async fn grants(&self, component: &str) -> Result<Vec<GrantRecord>, StoreError> {
        self.sql
            .query(
                "SELECT component, digest, grant_json, status, approved_at FROM grants WHERE component = $1 ORDER BY digest",
                sql_params![component],
            )
            .await?
            .iter()
            .map(grant)
            .collect()
    }

    async fn set_grant_status(
        &self,
        component: &str,
        digest: &str,
        status: GrantStatus,
    ) -> Result<bool, StoreError> {
        let approved_at = (status == GrantStatus::Active).then(now_ms);
        let n = self
            .sql
            .execute(
                "UPDATE grants SET status = $3, approved_at = COALESCE($4, approved_at) WHERE component = $1 AND digest = $2",
                sql_params![component, digest, status.as_str(), approved_at],
            )
            .await?;
        Ok(n > 0)
    }
}
