//! Storage: migrations, on SQLite and on PostgreSQL with the same tests.

mod support;

use ironclaw::sql_params;
use ironclaw::store::migrate::MigrateError;
use ironclaw::store::{Database, StoreError};
use support::backends::{Backend, fresh, migrated};

async fn count(db: &Database, sql: &'static str) -> i64 {
    db.executor()
        .query_opt(sql, vec![])
        .await
        .unwrap()
        .unwrap()
        .int(0)
        .unwrap()
}

async fn migrations_apply_once_and_are_recorded(backend: Backend) {
    let t = fresh(backend).await;
    let status = t.db.migration_status().await.unwrap();
    assert!(!status.is_empty());
    assert!(status.iter().all(|m| m.applied_at.is_none()));
    let applied = t.db.migrate().await.unwrap();
    assert_eq!(applied.first(), Some(&1));
    assert!(
        t.db.migrate().await.unwrap().is_empty(),
        "second run is a no-op"
    );
    let status = t.db.migration_status().await.unwrap();
    assert!(status.iter().all(|m| m.applied_at.is_some()));
    // Every domain's table is there and empty.
    for sql in [
        "SELECT count(*) FROM settings",
        "SELECT count(*) FROM kv",
        "SELECT count(*) FROM audit",
        "SELECT count(*) FROM secrets",
        "SELECT count(*) FROM components",
        "SELECT count(*) FROM grants",
        "SELECT count(*) FROM conversations",
        "SELECT count(*) FROM messages",
        "SELECT count(*) FROM jobs",
        "SELECT count(*) FROM job_events",
        "SELECT count(*) FROM routines",
        "SELECT count(*) FROM memory_documents",
        "SELECT count(*) FROM memory_chunks",
    ] {
        assert_eq!(count(&t.db, sql).await, 0, "{sql}");
    }
    assert_eq!(
        count(&t.db, "SELECT count(*) FROM schema_migrations").await,
        status.len() as i64
    );
}

async fn a_database_newer_than_the_binary_is_refused(backend: Backend) {
    let t = migrated(backend).await;
    t.db.executor()
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, 'future', 'x', 0)",
            sql_params![9999_i64],
        )
        .await
        .unwrap();
    let e = t.db.migrate().await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Migrate(MigrateError::NewerDatabase { database: 9999, .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("newer than this binary"), "{e}");
    assert!(t.db.migration_status().await.is_err(), "status refuses too");
}

async fn an_edited_migration_is_refused(backend: Backend) {
    let t = migrated(backend).await;
    t.db.executor()
        .execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1",
            vec![],
        )
        .await
        .unwrap();
    let e = t.db.migrate().await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Migrate(MigrateError::Changed { version: 1, .. })
        ),
        "{e}"
    );
}

async fn concurrent_migrations_from_two_handles_apply_once(backend: Backend) {
    let t = fresh(backend).await;
    let other = Database::open(&t.url).await.unwrap();
    let (ra, rb) = tokio::join!(t.db.migrate(), other.migrate());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let total = t.db.migration_status().await.unwrap().len();
    assert_eq!(ra.len() + rb.len(), total, "{ra:?} {rb:?}");
    assert_eq!(
        count(&t.db, "SELECT count(*) FROM schema_migrations").await,
        total as i64
    );
}

on_both_backends!(
    migrations_apply_once_and_are_recorded,
    a_database_newer_than_the_binary_is_refused,
    an_edited_migration_is_refused,
    concurrent_migrations_from_two_handles_apply_once,
);

#[tokio::test]
async fn an_unreachable_postgres_is_a_clear_error_without_the_password() {
    // Port 1 on loopback: nothing listens there, so the connection is refused.
    let url =
        ironclaw::store::DatabaseUrl::parse("postgres://ironclaw:s3cret@127.0.0.1:1/nope").unwrap();
    let e = Database::open(&url).await.err().expect("must fail");
    let msg = e.to_string();
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
    assert!(!msg.contains("s3cret"), "password leaked: {msg}");
}
