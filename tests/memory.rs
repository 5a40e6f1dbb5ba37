//! Workspace memory on both backends (SQLite and PostgreSQL, the same
//! tests): documents, hybrid search, typed index errors, identity seeding,
//! concurrency.

mod support;

use std::sync::Arc;

use ironclaw::memory::embedder::{EmbedError, Embedder, LocalEmbedder};
use ironclaw::memory::{MemoryError, MemoryStore, WriteOutcome, identity};
use support::backends::{Backend, TestDb, migrated};

async fn workspace(backend: Backend) -> (TestDb, Arc<dyn MemoryStore>) {
    let t = migrated(backend).await;
    let memory = t.db.memory(Arc::new(LocalEmbedder::default()));
    (t, memory)
}

const CORPUS: &[(&str, &str)] = &[
    (
        "garden.md",
        "# Garden\n\nThe tomatoes need watering every morning in July.\n",
    ),
    (
        "car.md",
        "# Car\n\nThe car service is due in March; book the garage early.\n",
    ),
    (
        "recipes.md",
        "# Recipes\n\nTomato soup: roast tomatoes, garlic and basil, then blend.\n",
    ),
    (
        "travel.md",
        "# Travel\n\nTrain to Lyon on Friday; hotel near the station.\n",
    ),
];

async fn load_corpus(memory: &dyn MemoryStore) {
    for (path, text) in CORPUS {
        assert_eq!(
            memory.write(path, text).await.unwrap(),
            WriteOutcome::Created
        );
    }
}

async fn documents_round_trip_and_rewrites_are_detected(backend: Backend) {
    let (_t, memory) = workspace(backend).await;
    assert_eq!(
        memory.write("notes/a.md", "one").await.unwrap(),
        WriteOutcome::Created
    );
    assert_eq!(
        memory.write("notes/a.md", "one").await.unwrap(),
        WriteOutcome::Unchanged
    );
    assert_eq!(
        memory.write("notes/a.md", "two").await.unwrap(),
        WriteOutcome::Updated
    );
    memory.write("notes/b.md", "b").await.unwrap();
    memory.write("other.md", "o").await.unwrap();
    assert_eq!(
        memory.read("notes/a.md").await.unwrap().unwrap().content,
        "two"
    );
    assert_eq!(
        memory.tree("notes/").await.unwrap(),
        ["notes/a.md", "notes/b.md"]
    );
    assert_eq!(memory.tree("").await.unwrap().len(), 3);
    assert!(memory.delete("notes/a.md").await.unwrap());
    assert!(!memory.delete("notes/a.md").await.unwrap());
    assert!(memory.read("notes/a.md").await.unwrap().is_none());
    let e = memory.write("../escape.md", "x").await.unwrap_err();
    assert!(matches!(e, MemoryError::InvalidPath { .. }), "{e}");
}

async fn search_finds_by_keyword_through_stemming(backend: Backend) {
    let (_t, memory) = workspace(backend).await;
    load_corpus(memory.as_ref()).await;
    let hits = memory
        .search("when should I water the tomato plants", 3)
        .await
        .unwrap();
    assert_eq!(hits[0].path, "garden.md", "{hits:#?}");
    assert!(hits[0].text_rank.is_some() && hits[0].vector_rank.is_some());
    let hits = memory.search("garage", 2).await.unwrap();
    assert_eq!(hits[0].path, "car.md");
}

async fn rrf_orders_a_fixed_corpus(backend: Backend) {
    let (_t, memory) = workspace(backend).await;
    load_corpus(memory.as_ref()).await;
    let hits = memory.search("tomatoes", 4).await.unwrap();
    // Both tomato documents match in both lists; the fused order is stable
    // and every score is the sum of 1/(60 + rank) over the lists it is in.
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(
        &paths[..2]
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        &["garden.md", "recipes.md"].into_iter().collect()
    );
    for h in &hits {
        let expected: f64 = [h.text_rank, h.vector_rank]
            .iter()
            .flatten()
            .map(|r| 1.0 / (60.0 + *r as f64))
            .sum();
        assert!((h.score - expected).abs() < 1e-12, "{h:?}");
    }
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
}

async fn search_without_an_index_fails_loudly(backend: Backend) {
    let (_t, memory) = workspace(backend).await;
    let e = memory.search("anything", 5).await.unwrap_err();
    assert!(matches!(e, MemoryError::IndexNotBuilt), "{e}");
}

struct Tiny;
impl Embedder for Tiny {
    fn dimensions(&self) -> usize {
        8
    }
    fn model(&self) -> &str {
        "tiny"
    }
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|_| vec![1.0; 8]).collect())
    }
}

async fn a_different_embedder_is_refused_until_reindexed(backend: Backend) {
    let (t, memory) = workspace(backend).await;
    load_corpus(memory.as_ref()).await;
    let other = t.db.memory(Arc::new(Tiny));
    let e = other.search("tomatoes", 3).await.unwrap_err();
    match &e {
        MemoryError::EmbedderMismatch {
            index_dims, dims, ..
        } => assert_eq!((*index_dims, *dims), (384, 8)),
        other => panic!("expected a mismatch, got {other}"),
    }
    assert!(e.to_string().contains("reindex"), "{e}");
    assert!(other.write("x.md", "x").await.is_err(), "writes refuse too");
    assert_eq!(other.reindex().await.unwrap(), CORPUS.len());
    assert_eq!(other.search("tomatoes", 2).await.unwrap().len(), 2);
    assert!(
        memory.search("tomatoes", 2).await.is_err(),
        "the old embedder is now the mismatch"
    );
}

async fn identity_files_are_seeded_once(backend: Backend) {
    let (_t, memory) = workspace(backend).await;
    let created = identity::seed(memory.as_ref(), "2026-11-21").await.unwrap();
    for f in [
        "README.md",
        "MEMORY.md",
        "IDENTITY.md",
        "SOUL.md",
        "AGENTS.md",
        "USER.md",
        "HEARTBEAT.md",
        "daily/2026-11-21.md",
    ] {
        assert!(created.contains(&f.to_string()), "{f} in {created:?}");
    }
    memory
        .write("USER.md", "# The owner\n\nAda.\n")
        .await
        .unwrap();
    assert!(
        identity::seed(memory.as_ref(), "2026-11-21")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        memory
            .read("USER.md")
            .await
            .unwrap()
            .unwrap()
            .content
            .contains("Ada"),
        "never overwritten"
    );
    assert_eq!(identity::today_utc().len(), 10);
}

async fn concurrent_writers_all_land(backend: Backend) {
    let (_t, memory) = workspace(backend).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let m = memory.clone();
        tasks.push(tokio::spawn(async move {
            m.write(
                &format!("concurrent/{i:02}.md"),
                &format!("# Note {i}\n\nbody {i} about apples\n"),
            )
            .await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), WriteOutcome::Created);
    }
    assert_eq!(memory.tree("concurrent/").await.unwrap().len(), 16);
    assert_eq!(memory.search("apples", 20).await.unwrap().len(), 16);
}

/// Stands in for a semantic model (an LLM adapter's `embed`): words of one
/// concept share a direction, so a document can be found by meaning with no
/// word in common with the query. The local embedder cannot do this; the
/// test shows the vector half of hybrid search carries such a hit.
struct Concepts;
impl Embedder for Concepts {
    fn dimensions(&self) -> usize {
        16
    }
    fn model(&self) -> &str {
        "test-concepts"
    }
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        const CONCEPTS: &[&[&str]] = &[
            &["doctor", "physician", "clinic", "appointment", "checkup"],
            &["car", "automobile", "vehicle", "garage"],
            &["money", "budget", "salary", "finances"],
        ];
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.0f32; 16];
                for w in t
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                {
                    let w = w.to_lowercase();
                    match CONCEPTS.iter().position(|c| c.contains(&w.as_str())) {
                        Some(i) => v[i] += 1.0,
                        None => v[3 + w.len() % 13] += 0.1,
                    }
                }
                v
            })
            .collect())
    }
}

async fn search_finds_by_meaning_through_the_vector_list(backend: Backend) {
    let t = migrated(backend).await;
    let memory = t.db.memory(Arc::new(Concepts));
    memory
        .write(
            "health.md",
            "# Health\n\nPhysician checkup booked at the clinic.\n",
        )
        .await
        .unwrap();
    memory
        .write("car.md", "# Car\n\nThe automobile goes to the garage.\n")
        .await
        .unwrap();
    memory
        .write("money.md", "# Money\n\nSalary and budget for the month.\n")
        .await
        .unwrap();
    let hits = memory.search("doctor", 3).await.unwrap();
    assert_eq!(hits[0].path, "health.md", "{hits:#?}");
    assert_eq!(hits[0].text_rank, None, "no word in common");
    assert_eq!(hits[0].vector_rank, Some(1));
    let hits = memory.search("vehicle", 1).await.unwrap();
    assert_eq!(hits[0].path, "car.md");
}

on_both_backends!(
    search_finds_by_meaning_through_the_vector_list,
    documents_round_trip_and_rewrites_are_detected,
    search_finds_by_keyword_through_stemming,
    rrf_orders_a_fixed_corpus,
    search_without_an_index_fails_loudly,
    a_different_embedder_is_refused_until_reindexed,
    identity_files_are_seeded_once,
    concurrent_writers_all_land,
);
