//! Storage: migrations on the embedded SQLite default.

use ironclaw::store::StoreError;
use ironclaw::store::migrate::MigrateError;
use ironclaw::store::sqlite::SqliteDb;

fn fresh_db() -> (tempfile::TempDir, SqliteDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&dir.path().join("ironclaw.db")).unwrap();
    (dir, db)
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_apply_once_and_are_recorded() {
    let (_dir, db) = fresh_db();
    let status = db.migration_status().await.unwrap();
    assert!(status.iter().all(|m| m.applied_at.is_none()));
    let applied = db.migrate().await.unwrap();
    assert_eq!(applied.first(), Some(&1));
    assert!(
        db.migrate().await.unwrap().is_empty(),
        "second run is a no-op"
    );
    let status = db.migration_status().await.unwrap();
    assert!(status.iter().all(|m| m.applied_at.is_some()));
    let tables: i64 = db
        .call(|c| -> Result<_, StoreError> { Ok(c.query_row("SELECT count(*) FROM sqlite_master WHERE name IN ('memory_documents', 'memory_chunks_fts', 'kv', 'audit')", [], |r| r.get(0))?) })
        .await
        .unwrap();
    assert_eq!(tables, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_newer_than_the_binary_is_refused() {
    let (_dir, db) = fresh_db();
    db.migrate().await.unwrap();
    db.call(|c| -> Result<_, StoreError> {
        c.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', 0)",
            [],
        )?;
        Ok(())
    })
    .await
    .unwrap();
    let e = db.migrate().await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Migrate(MigrateError::NewerDatabase { database: 9999, .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("newer than this binary"), "{e}");
    assert!(db.migration_status().await.is_err(), "status refuses too");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_migrations_from_two_handles_apply_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ironclaw.db");
    let a = SqliteDb::open(&path).unwrap();
    let b = SqliteDb::open(&path).unwrap();
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.len() + rb.len(), 1, "{ra:?} {rb:?}");
    let rows: i64 = a
        .call(|c| -> Result<_, StoreError> {
            Ok(c.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    assert_eq!(rows, 1);
}
