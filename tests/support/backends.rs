//! Both storage backends for the same tests: a fresh SQLite file, and a
//! fresh database on the test PostgreSQL server (pgvector included).
//!
//! The server's URL comes from `IRONCLAW_TEST_POSTGRES_URL` (the README's
//! test command starts the server and sets it); without it the server is
//! started here through `scripts/services/postgres`. A PostgreSQL that cannot
//! be reached fails the test: it is never skipped.

use std::sync::OnceLock;

use ironclaw::store::{Database, DatabaseUrl};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDb {
    pub backend: Backend,
    pub url: DatabaseUrl,
    pub db: Database,
    /// Holds the SQLite file's directory for the test's lifetime.
    pub dir: tempfile::TempDir,
}

/// The test server's URL (its default database).
pub fn postgres_server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("IRONCLAW_TEST_POSTGRES_URL")
            && !url.is_empty()
        {
            return url;
        }
        let script = super::repo().join("scripts/services/postgres");
        let out = std::process::Command::new(&script)
            .arg("start")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "the test PostgreSQL did not start:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
    .clone()
}

/// A new, empty database on the test server; its URL.
pub async fn fresh_postgres_url() -> String {
    let server = postgres_server_url();
    let (client, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {server}: {e}"));
    tokio::spawn(connection);
    let name = format!("ironclaw_t_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let (base, _) = server.rsplit_once('/').expect("url has a database");
    format!("{base}/{name}")
}

/// A fresh, unmigrated database on `backend`.
pub async fn fresh(backend: Backend) -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match backend {
        Backend::Sqlite => DatabaseUrl::Sqlite(dir.path().join("ironclaw.db")),
        Backend::Postgres => DatabaseUrl::Postgres(fresh_postgres_url().await),
    };
    let db = Database::open(&url).await.expect("open database");
    TestDb {
        backend,
        url,
        db,
        dir,
    }
}

/// A fresh database with every migration applied.
pub async fn migrated(backend: Backend) -> TestDb {
    let t = fresh(backend).await;
    t.db.migrate().await.expect("migrate");
    t
}

/// `on_both_backends!(a, b)`: for each `async fn a(backend: Backend)` in
/// the test file, tests `a::sqlite` and `a::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$name($crate::support::backends::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                super::$name($crate::support::backends::Backend::Postgres).await
            }
        }
    )*};
}
