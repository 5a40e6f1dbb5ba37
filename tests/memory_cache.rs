//! SQLite workspace memory searches vectors from an in-memory copy
//! (`host/store/sqlite/vector_cache.rs`). These tests hold it to the
//! database: writes, deletes and reindexes through another handle or
//! another process are seen by the next search; writes through the same
//! handle update the copy without a reload; and its answers are the same
//! exact neighbours sqlite-vec's brute-force KNN finds.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use ironclaw::memory::MemoryStore;
use ironclaw::memory::embedder::{EmbedError, Embedder, LocalEmbedder};
use ironclaw::store::sqlite::SqliteDb;
use ironclaw::store::sqlite::memory::SqliteMemory;

/// Words of one concept share a direction and nothing else does, so a hit
/// with no word in common with the query can only come from the vector
/// half: the test sees whether *that* half is up to date.
struct Concepts;
impl Embedder for Concepts {
    fn dimensions(&self) -> usize {
        8
    }
    fn model(&self) -> &str {
        "test-concepts"
    }
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        const CONCEPTS: &[&[&str]] = &[
            &["doctor", "physician", "clinic"],
            &["car", "automobile", "vehicle"],
            &["money", "budget", "salary"],
            &["owl", "nocturnal", "raptor"],
        ];
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.0f32; 8];
                for w in t.split(|c: char| !c.is_alphanumeric()) {
                    let w = w.to_lowercase();
                    match CONCEPTS.iter().position(|c| c.contains(&w.as_str())) {
                        Some(i) => v[i] += 1.0,
                        None if !w.is_empty() => v[4 + w.len() % 4] += 0.1,
                        None => {}
                    }
                }
                v
            })
            .collect())
    }
}

async fn open(path: &Path, embedder: Arc<dyn Embedder>) -> SqliteMemory {
    let db = SqliteDb::open(path).unwrap();
    db.migrate().await.unwrap();
    SqliteMemory::new(db, embedder)
}

/// The path and vector rank of every hit for `query`.
async fn vector_hits(memory: &SqliteMemory, query: &str) -> Vec<(String, Option<usize>)> {
    memory
        .search(query, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.path, h.vector_rank))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_deletes_and_reindexes_through_another_handle_are_seen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ironclaw.db");
    // Two handles with their own connections and their own in-memory
    // copies, as two processes would have.
    let writer = open(&path, Arc::new(Concepts)).await;
    let reader = open(&path, Arc::new(Concepts)).await;
    writer
        .write("car.md", "# Car\n\nThe automobile goes to the garage.\n")
        .await
        .unwrap();
    assert_eq!(vector_hits(&reader, "vehicle").await[0].0, "car.md");
    assert_eq!(reader.vector_loads(), 1);

    writer
        .write("health.md", "# Health\n\nPhysician booked at the clinic.\n")
        .await
        .unwrap();
    let hits = vector_hits(&reader, "doctor").await;
    assert_eq!(
        hits[0],
        ("health.md".to_string(), Some(1)),
        "found by meaning alone, so the reader's vectors are current: {hits:?}"
    );
    assert_eq!(
        reader.vector_loads(),
        2,
        "the other handle's write forced a reload"
    );

    // An update moves the document to another concept.
    writer
        .write("health.md", "# Health\n\nSalary and budget.\n")
        .await
        .unwrap();
    let hits = vector_hits(&reader, "doctor").await;
    assert!(
        hits.iter().all(|(p, r)| p != "health.md" || *r > Some(1)),
        "{hits:?}"
    );
    assert_eq!(vector_hits(&reader, "money").await[0].0, "health.md");

    assert!(writer.delete("health.md").await.unwrap());
    let hits = vector_hits(&reader, "money").await;
    assert!(hits.iter().all(|(p, _)| p != "health.md"), "{hits:?}");
    assert_eq!(
        reader.nearest("money", 10).await.unwrap().len(),
        1,
        "only car.md's chunk is left"
    );

    assert_eq!(writer.reindex().await.unwrap(), 1);
    assert_eq!(vector_hits(&reader, "vehicle").await[0].0, "car.md");

    // A search that changes nothing on either side reuses the copy.
    let loads = reader.vector_loads();
    vector_hits(&reader, "vehicle").await;
    assert_eq!(reader.vector_loads(), loads);
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_through_the_same_handle_update_the_copy_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let memory = open(&dir.path().join("ironclaw.db"), Arc::new(Concepts)).await;
    // Clones share the database handle, so they share its copy too.
    let other = memory.clone();
    memory
        .write("car.md", "# Car\n\nThe automobile.\n")
        .await
        .unwrap();
    assert_eq!(vector_hits(&memory, "vehicle").await[0].0, "car.md");
    assert_eq!(memory.vector_loads(), 1);

    other
        .write("owl.md", "# Owl\n\nA nocturnal raptor.\n")
        .await
        .unwrap();
    assert_eq!(vector_hits(&memory, "owl").await[0].0, "owl.md");
    other
        .write("owl.md", "# Owl\n\nPhysician.\n")
        .await
        .unwrap();
    assert_eq!(
        vector_hits(&memory, "doctor").await[0],
        ("owl.md".to_string(), Some(1))
    );
    assert!(other.delete("car.md").await.unwrap());
    assert!(
        vector_hits(&memory, "vehicle")
            .await
            .iter()
            .all(|(p, _)| p != "car.md"),
        "deleted"
    );
    assert_eq!(memory.nearest("vehicle", 10).await.unwrap().len(), 1);
    assert_eq!(
        memory.vector_loads(),
        1,
        "no reload: the writes updated the copy"
    );

    // A reindex drops the copy; the next search loads the rebuilt one.
    memory.reindex().await.unwrap();
    assert_eq!(vector_hits(&memory, "doctor").await[0].0, "owl.md");
    assert_eq!(memory.vector_loads(), 2);
}

fn ironclaw(home: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ironclaw"))
        .args(args)
        .env("IRONCLAW_HOME", home)
        .env_remove("IRONCLAW_LOG")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ironclaw {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_by_another_process_are_seen_by_the_next_search() {
    let home = tempfile::tempdir().unwrap();
    // The CLI creates and migrates the database (and seeds the identity
    // files); this process then serves searches from it, like `ironclaw run`.
    ironclaw(
        home.path(),
        &["memory", "write", "notes/garden.md"],
        "# Garden\n\nWater the tomatoes.\n",
    );
    let memory = open(
        &home.path().join("ironclaw.db"),
        Arc::new(LocalEmbedder::default()),
    )
    .await;
    let owl = "# Owls\n\nThe barn owl hunts voles at dusk over the meadow.\n";
    assert!(
        vector_hits(&memory, "barn owl voles")
            .await
            .iter()
            .all(|(p, _)| p != "notes/owl.md")
    );
    assert_eq!(memory.vector_loads(), 1);

    ironclaw(home.path(), &["memory", "write", "notes/owl.md"], owl);
    let hits = vector_hits(&memory, "barn owl voles").await;
    assert_eq!(hits[0].0, "notes/owl.md", "{hits:?}");
    assert_eq!(hits[0].1, Some(1), "the vector half sees it too: {hits:?}");
    assert_eq!(memory.vector_loads(), 2);

    ironclaw(home.path(), &["memory", "delete", "notes/owl.md"], "");
    let hits = vector_hits(&memory, "barn owl voles").await;
    assert!(hits.iter().all(|(p, _)| p != "notes/owl.md"), "{hits:?}");
}

/// Deterministic pseudo-text: words from a small vocabulary, so chunks share
/// words in varying proportions and the local embedder's vectors spread out.
fn pseudo_text(seed: u64, words: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = String::new();
    for i in 0..words {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let w = x % 400;
        out.push_str(&format!("w{w}{}", if i % 12 == 11 { ".\n" } else { " " }));
    }
    out
}

const SQLITE_VEC_KNN: &str = "SELECT chunk_id, distance FROM memory_vec \
     WHERE embedding MATCH ?1 AND k = ?2 ORDER BY distance";
const SQLITE_VEC_DISTANCE: &str =
    "SELECT vec_distance_cosine(embedding, ?1) FROM memory_vec WHERE chunk_id = ?2";

#[tokio::test(flavor = "multi_thread")]
async fn the_in_memory_scan_finds_the_same_neighbours_as_sqlite_vec() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ironclaw.db");
    let memory = open(&path, Arc::new(LocalEmbedder::default())).await;
    for d in 0..150 {
        let text = format!(
            "# Doc {d}\n\n{}",
            pseudo_text(d, 60 + (d as usize % 5) * 40)
        );
        memory.write(&format!("d/{d}.md"), &text).await.unwrap();
    }
    let db = SqliteDb::open(&path).unwrap();
    let embedder = LocalEmbedder::default();
    for q in 0..20 {
        let query = pseudo_text(1000 + q, 4);
        let k = 40;
        let ours = memory.nearest(&query, k).await.unwrap();
        let vector = embedder
            .embed(std::slice::from_ref(&query))
            .unwrap()
            .remove(0);
        let blob: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        // sqlite-vec's exact KNN, and its own cosine distance for our ids.
        let (theirs, ours_distances) = db
            .call(move |conn| -> Result<_, ironclaw::store::StoreError> {
                let mut knn = conn.prepare(SQLITE_VEC_KNN)?;
                let rows = knn.query_map(rusqlite::params![blob, k as i64], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?))
                })?;
                let theirs = rows.collect::<Result<Vec<_>, _>>()?;
                let mut distance = conn.prepare(SQLITE_VEC_DISTANCE)?;
                let mut distances = Vec::new();
                for id in &ours {
                    let params = rusqlite::params![blob, id];
                    distances.push(distance.query_row(params, |r| r.get::<_, f64>(0))?);
                }
                Ok((theirs, distances))
            })
            .await
            .unwrap();
        assert_eq!(ours_distances.len(), theirs.len(), "query {query:?}");
        // Exact means the same distance at every rank; which of two equally
        // distant chunks comes first may differ.
        for (rank, (mine, (id, theirs))) in ours_distances.iter().zip(&theirs).enumerate() {
            assert!(
                (mine - theirs).abs() < 1e-5,
                "query {query:?} rank {rank}: ours {mine} vs sqlite-vec {theirs} (chunk {id})"
            );
        }
    }
}
