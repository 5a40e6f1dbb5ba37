//! A process killed in the middle of writing leaves a consistent database,
//! on both backends: every document whole with all of its chunks and
//! vectors, or not changed at all.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use ironclaw::store::Database;
use support::backends::{Backend, fresh};

/// A document of ~200 chunks, different per version.
fn document(version: usize) -> String {
    let words = [
        "alpha", "garden", "river", "stone", "cloud", "engine", "paper", "violet", "ocean",
        "market", "signal", "tomato",
    ];
    let mut out = format!("# Version {version}\n\n");
    for i in 0..3000 {
        if i % 40 == 0 {
            out.push_str(&format!("\n## Section {i} of version {version}\n\n"));
        }
        for j in 0..25 {
            out.push_str(words[(i * 7 + j * 3 + version) % words.len()]);
            out.push(' ');
        }
        out.push_str(".\n");
    }
    out
}

/// Starts `ironclaw memory write PATH` with `content` on stdin.
fn start_write(t: &support::backends::TestDb, path: &str, content: &str) -> std::process::Child {
    use std::io::Write;
    let home = t.dir.path().join("home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .args(["memory", "write", path])
        .env("IRONCLAW_HOME", &home)
        .env("DATABASE_URL", t.url.display())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ironclaw");
    let mut stdin = child.stdin.take().expect("stdin");
    // The child may be killed before it reads everything.
    let _ = stdin.write_all(content.as_bytes());
    child
}

async fn one(db: &Database, sql: &'static str) -> i64 {
    db.executor()
        .query_opt(sql, vec![])
        .await
        .unwrap()
        .unwrap()
        .int(0)
        .unwrap()
}

async fn assert_consistent(t: &support::backends::TestDb) {
    let sql = t.db.executor();
    for row in sql
        .query(
            "SELECT path, content, content_hash FROM memory_documents",
            vec![],
        )
        .await
        .unwrap()
    {
        let (path, content, hash) = (
            row.text(0).unwrap(),
            row.text(1).unwrap(),
            row.text(2).unwrap(),
        );
        assert_eq!(
            hash,
            blake3::hash(content.as_bytes()).to_hex().to_string(),
            "{path}: content and hash disagree"
        );
    }
    assert_eq!(
        one(&t.db, "SELECT count(*) FROM memory_documents d WHERE d.content <> '' AND NOT EXISTS (SELECT 1 FROM memory_chunks c WHERE c.document_id = d.id)").await,
        0,
        "a document lost its chunks"
    );
    assert_eq!(
        one(&t.db, "SELECT count(*) FROM (SELECT document_id FROM memory_chunks GROUP BY document_id HAVING count(*) <> max(idx) + 1) gaps").await,
        0,
        "a document has a partial set of chunks"
    );
    let chunks = one(&t.db, "SELECT count(*) FROM memory_chunks").await;
    assert_eq!(
        one(&t.db, "SELECT count(*) FROM memory_vec").await,
        chunks,
        "chunks and vectors differ"
    );
    assert_eq!(
        one(&t.db, "SELECT count(*) FROM memory_chunks c WHERE NOT EXISTS (SELECT 1 FROM memory_vec v WHERE v.chunk_id = c.id)").await,
        0,
        "a chunk has no vector"
    );
    if t.backend == Backend::Sqlite {
        let ok = sql.query("PRAGMA integrity_check", vec![]).await.unwrap();
        assert_eq!(ok[0].text(0).unwrap(), "ok");
        sql.execute(
            "INSERT INTO memory_chunks_fts (memory_chunks_fts) VALUES ('integrity-check')",
            vec![],
        )
        .await
        .expect("the full-text index matches the chunks");
    }
}

async fn a_killed_writer_leaves_a_consistent_database(backend: Backend) {
    let t = fresh(backend).await;
    // One complete write first: the schema and the index exist.
    let status = start_write(&t, "big.md", &document(0)).wait().unwrap();
    assert!(status.success());
    let (mut killed, mut finished) = (0, 0);
    // Kill points swept across the whole life of a write (start-up, chunking,
    // embedding, the transaction, commit).
    let step = if backend == Backend::Sqlite { 6 } else { 15 };
    for attempt in 1..=30 {
        let mut child = start_write(&t, "big.md", &document(attempt));
        std::thread::sleep(Duration::from_millis(step * attempt as u64));
        match child.try_wait().unwrap() {
            Some(_) => finished += 1,
            None => {
                child.kill().unwrap();
                killed += 1;
            }
        }
        child.wait().unwrap();
    }
    eprintln!("{backend:?}: {killed} killed, {finished} finished");
    assert!(
        killed > 0,
        "no write was interrupted; the sweep is too slow"
    );
    assert_consistent(&t).await;
    // The document is one whole version, never a mix.
    let memory = t.db.memory(std::sync::Arc::new(
        ironclaw::memory::embedder::LocalEmbedder::default(),
    ));
    let content = memory.read("big.md").await.unwrap().unwrap().content;
    assert!((0..=30).any(|v| content == document(v)), "a torn document");
    // And the database takes the next write (no stale lock or half index).
    let status = start_write(&t, "after.md", "# After\n\nstill writable\n")
        .wait()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        memory.search("writable", 3).await.unwrap()[0].path,
        "after.md"
    );
    assert_consistent(&t).await;
}

on_both_backends!(a_killed_writer_leaves_a_consistent_database);
