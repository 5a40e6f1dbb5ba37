//! The embedded default: one SQLite file in WAL mode, with FTS5 and
//! sqlite-vec. Blocking SQLite work never runs on the async workers: the
//! domain stores' writes go to one writer thread that commits them in
//! groups (`writer.rs`); reads, and the memory store's own work, run on
//! tokio's blocking pool over a few pooled connections (busy timeout,
//! `BEGIN IMMEDIATE` where they write).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::StoreError;
use super::migrate::{self, Applied, MigrationStatus, embedded};

pub mod memory;
pub mod sql;
pub mod vector_cache;
mod writer;

const CONNECTIONS: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of the file each connection reads through a memory map instead of
/// `read()` calls (SQLite caps it at its compile-time maximum, 2 GiB).
/// Reading every stored vector — 150 MB at 100,000 chunks of 384
/// dimensions, as sqlite-vec's KNN did on each search and as loading the
/// in-memory copy (`vector_cache`) still does once — through the 2 MB page
/// cache costs ~28 ms of copying and system calls; mapped, ~9 ms
/// (`benches/memory_search`). Address space only: the pages are the OS
/// page cache's, shared by every connection.
const MMAP_SIZE: i64 = 1 << 31;

#[derive(Clone)]
pub struct SqliteDb {
    path: Arc<PathBuf>,
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
    /// The one connection that writes, on its own thread (`writer.rs`).
    writer: Arc<writer::Writer>,
    /// Workspace vectors in memory. Held here rather than by each memory
    /// handle so that every handle on this database shares one copy
    /// (154 MB at 100,000 chunks) instead of loading its own.
    vectors: Arc<vector_cache::VectorCache>,
}

/// Makes sqlite-vec available to every connection this process opens.
fn register_sqlite_vec() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_vec_init` is the extension's entry point with the
        // signature SQLite expects of an auto extension.
        #[allow(clippy::missing_transmute_annotations)]
        unsafe {
            rusqlite::ffi::sqlite3_auto_extension(Some(std::mem::transmute(
                sqlite_vec::sqlite3_vec_init as *const (),
            )));
        }
    });
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |e: rusqlite::Error| StoreError::Open {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    // The stores use a few dozen distinct statements; rusqlite's default
    // cache of 16 would evict and re-prepare them on every turn.
    conn.set_prepared_statement_cache_capacity(256);
    // WAL: readers never block the writer; NORMAL sync is durable across
    // process crashes (not power loss between checkpoints), the usual choice
    // for WAL.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA mmap_size = {MMAP_SIZE};"
    ))
    .map_err(open_err)?;
    Ok(conn)
}

impl SqliteDb {
    /// Opens (creating if needed) the database file; checks that FTS5 and
    /// sqlite-vec are present.
    pub fn open(path: &Path) -> Result<SqliteDb, StoreError> {
        register_sqlite_vec();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        }
        let conn = connect(path)?;
        let vec_version: String = conn
            .query_row("SELECT vec_version()", [], |r| r.get(0))
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                message: format!("sqlite-vec is not available: {e}"),
            })?;
        tracing::debug!(path = %path.display(), %vec_version, "sqlite opened");
        Ok(SqliteDb {
            path: Arc::new(path.to_path_buf()),
            idle: Arc::new(Mutex::new(vec![conn])),
            permits: Arc::new(Semaphore::new(CONNECTIONS)),
            writer: Arc::new(writer::Writer::start(path)?),
            vectors: Arc::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn vector_cache(&self) -> &Arc<vector_cache::VectorCache> {
        &self.vectors
    }

    /// Runs `f` with a connection on the blocking pool. `f`'s error type is
    /// the caller's, so typed domain errors survive the trip.
    pub async fn call<R, E, F>(&self, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, E> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?;
        let idle = self.idle.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = idle.lock().ok().and_then(|mut v| v.pop());
            let mut conn = match taken {
                Some(c) => c,
                None => connect(&path).map_err(E::from)?,
            };
            let result = f(&mut conn);
            if let Ok(mut v) = idle.lock() {
                v.push(conn);
            }
            result
        })
        .await
        .map_err(|e| E::from(StoreError::Worker(e.to_string())))?
    }

    /// Applies pending migrations; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<u32>, StoreError> {
        self.call(|conn: &mut Connection| -> Result<Vec<u32>, StoreError> {
            ensure_migrations_table(conn)?;
            let applied = applied(conn)?;
            let todo = migrate::pending(embedded::SQLITE, &applied)?;
            let mut done = Vec::new();
            for m in todo {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                // Another process may have applied it while we waited for the lock.
                let already: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                    [m.version],
                    |r| r.get(0),
                )?;
                if already {
                    continue;
                }
                tx.execute_batch(m.sql).map_err(|e| {
                    StoreError::Database(format!("migration {} ({}): {e}", m.version, m.name))
                })?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![m.version, m.name, m.checksum(), super::now_ms()],
                )?;
                tx.commit()?;
                done.push(m.version);
            }
            Ok(done)
        })
        .await
    }

    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>, StoreError> {
        self.call(
            |conn: &mut Connection| -> Result<Vec<MigrationStatus>, StoreError> {
                ensure_migrations_table(conn)?;
                let applied = applied(conn)?;
                // Refuse a newer or edited schema here too, so status tells the truth.
                migrate::pending(embedded::SQLITE, &applied)?;
                Ok(migrate::status(embedded::SQLITE, &applied))
            },
        )
        .await
    }
}

fn ensure_migrations_table(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            checksum   TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        )",
    )?;
    Ok(())
}

fn applied(conn: &Connection) -> Result<Vec<Applied>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version")?;
    let rows = stmt.query_map([], |r| {
        Ok(Applied {
            version: r.get(0)?,
            checksum: r.get(1)?,
            applied_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
