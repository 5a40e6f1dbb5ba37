//! PostgreSQL for people who outgrow one file: a pool of async connections
//! (tokio-postgres through deadpool), pgvector for vectors and tsvector for
//! words. Migrations run under an advisory lock in one transaction, so two
//! hosts starting at once apply them once and a failed one leaves nothing.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::StoreError;
use super::migrate::{self, Applied, MigrationStatus, embedded};
use super::url::redact;

pub mod memory;
pub mod sql;

const POOL_SIZE: usize = 16;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// `pg_advisory_xact_lock` key taken while migrating ("ironclaw" in ASCII).
const MIGRATION_LOCK: i64 = 0x6972_6f6e_636c_6177;

#[derive(Clone)]
pub struct PgDb {
    pool: Pool,
    display: String,
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // The server's own message (with its detail) says far more than the
        // client's one-line summary.
        match e.as_db_error() {
            Some(db) => StoreError::Database(match db.detail() {
                Some(detail) => format!("{}: {detail}", db.message()),
                None => db.message().to_string(),
            }),
            None => StoreError::Database(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Database(format!("no PostgreSQL connection: {e}"))
    }
}

impl PgDb {
    /// Connects (one connection, to fail now rather than on first use) and
    /// checks that the server has pgvector available.
    pub async fn open(url: &str) -> Result<PgDb, StoreError> {
        let display = redact(url);
        let open_err = |message: String| StoreError::Open {
            path: display.clone(),
            message,
        };
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| open_err(e.to_string()))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("ironclaw");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| open_err(e.to_string()))?;
        let client = pool.get().await.map_err(|e| open_err(e.to_string()))?;
        let has_vector = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')",
                &[],
            )
            .await
            .map_err(|e| open_err(StoreError::from(e).to_string()))?
            .get::<_, bool>(0);
        if !has_vector {
            return Err(open_err(
                "the server has no pgvector extension (`vector`); install pgvector".into(),
            ));
        }
        Ok(PgDb { pool, display })
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The URL without its password.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Applies pending migrations; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<u32>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        ensure_migrations_table(&tx).await?;
        let applied = applied(&tx).await?;
        let todo = migrate::pending(embedded::POSTGRES, &applied)?;
        let mut done = Vec::new();
        for m in todo {
            tx.batch_execute(m.sql).await.map_err(|e| {
                StoreError::Database(format!(
                    "migration {} ({}): {}",
                    m.version,
                    m.name,
                    StoreError::from(e)
                ))
            })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                &[&i64::from(m.version), &m.name, &m.checksum(), &super::now_ms()],
            )
            .await?;
            done.push(m.version);
        }
        tx.commit().await?;
        Ok(done)
    }

    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        ensure_migrations_table(&tx).await?;
        let applied = applied(&tx).await?;
        tx.commit().await?;
        migrate::pending(embedded::POSTGRES, &applied)?;
        Ok(migrate::status(embedded::POSTGRES, &applied))
    }
}

async fn ensure_migrations_table(
    tx: &deadpool_postgres::Transaction<'_>,
) -> Result<(), StoreError> {
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    BIGINT PRIMARY KEY,
            name       TEXT NOT NULL,
            checksum   TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )
    .await?;
    Ok(())
}

async fn applied(tx: &deadpool_postgres::Transaction<'_>) -> Result<Vec<Applied>, StoreError> {
    let rows = tx
        .query(
            "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let version: i64 = r.try_get(0)?;
            Ok(Applied {
                version: u32::try_from(version).map_err(|_| {
                    StoreError::Database(format!("schema_migrations has version {version}"))
                })?,
                checksum: r.try_get(1)?,
                applied_at: r.try_get(2)?,
            })
        })
        .collect()
}
