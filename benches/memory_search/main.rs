//! Workspace memory at scale: insert throughput and hybrid search latency
//! over ~100,000 chunks (384-dim vectors from the local embedder) on SQLite
//! (FTS5 + an exact scan of an in-memory copy of the vectors, which are
//! stored with sqlite-vec) and PostgreSQL (tsvector + pgvector HNSW).
//!
//! A plain timing binary (`harness = false`, no criterion): loading the
//! corpus takes minutes, so every figure comes from one load per backend.
//!
//! ```text
//! cargo bench --bench memory_search
//! IRONCLAW_BENCH_CHUNKS=5000 cargo bench --bench memory_search   # quick run
//! ```
//!
//! Environment:
//! - `IRONCLAW_BENCH_CHUNKS`   chunks in the corpus (default 100000)
//! - `IRONCLAW_BENCH_QUERIES`  measured searches per backend (default 300)
//! - `IRONCLAW_BENCH_WRITERS`  concurrent writers in the concurrent window (default 4)
//! - `IRONCLAW_BENCH_BACKENDS` `sqlite,postgres` (default both)
//! - `IRONCLAW_BENCH_POSTGRES_URL` a server to create the bench database on;
//!   else `IRONCLAW_TEST_POSTGRES_URL`; else `scripts/services/postgres start`
//! - `IRONCLAW_BENCH_KEEP=1`  keep the loaded databases (SQLite under
//!   `target/bench-memory/`, PostgreSQL `ironclaw_bench_keep_<chunks>`) and
//!   reuse them on the next run instead of loading again: for iterating on
//!   search only (the insert figures are then not measured)
//!
//! The corpus is deterministic: documents of a title, an intro and ten
//! `##` sections of ~2,700 characters (one ~800-token chunk each) in
//! pseudo-words drawn from a Zipf-distributed vocabulary, with English
//! filler words. Queries are 2–4 vocabulary words: one drawn by corpus
//! frequency (a common topic word), the others uniformly (mostly rare).
//! Results: BENCHMARKS.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ironclaw::memory::MemoryStore;
use ironclaw::memory::chunker::{self, ChunkConfig};
use ironclaw::memory::embedder::{Embedder, LocalEmbedder};
use ironclaw::memory::indexer::{self, search_terms};
use ironclaw::store::{Database, DatabaseUrl};

mod corpus;
mod figures;
mod sqlite;
use corpus::*;
use figures::*;
use sqlite::{CURVE_RANKS, run_sqlite};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const VOCABULARY: usize = 6000;
const ZIPF_EXPONENT: f64 = 1.0;
/// Queries skip the most frequent vocabulary words (they act like stopwords).
const QUERY_MIN_RANK: usize = 100;
const SECTIONS: usize = 10;
const LIMIT: usize = 10;
const WARMUP: usize = 30;
/// Queries whose HNSW candidates are compared with an exact scan.
const RECALL_QUERIES: usize = 50;
const FILLER: &[&str] = &[
    "the", "of", "and", "to", "a", "in", "is", "for", "with", "on", "that", "as", "by", "it",
    "from", "this", "be", "are", "was", "at",
];

// ----------------------------------------------------------------- setup ---

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn postgres_server_url() -> Res<String> {
    for var in ["IRONCLAW_BENCH_POSTGRES_URL", "IRONCLAW_TEST_POSTGRES_URL"] {
        if let Ok(url) = std::env::var(var)
            && !url.is_empty()
        {
            return Ok(url);
        }
    }
    let out = std::process::Command::new(repo().join("scripts/services/postgres"))
        .arg("start")
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "scripts/services/postgres start failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

async fn pg_admin(server: &str) -> Res<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

fn with_database(server: &str, name: &str) -> Res<String> {
    let (base, _) = server
        .rsplit_once('/')
        .ok_or("the PostgreSQL url names no database")?;
    Ok(format!("{base}/{name}"))
}

// ------------------------------------------------------------------ load ---

async fn write_range(
    db: &Database,
    memory: &Arc<dyn MemoryStore>,
    vocab: &Vocab,
    docs: std::ops::Range<usize>,
    writers: usize,
    progress: bool,
) -> Res<Rate> {
    // Texts are generated before the clock starts; chunks are counted in
    // the database afterwards, so only `write` is timed.
    let texts: Arc<Vec<(String, String)>> = Arc::new(
        docs.clone()
            .map(|i| (doc_path(i), document(vocab, i)))
            .collect(),
    );
    let (before, _) = counts(db).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (memory, texts, next) = (memory.clone(), texts.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let total = texts.len();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((path, text)) = texts.get(i) else {
                    return Ok::<_, ironclaw::memory::MemoryError>(());
                };
                memory.write(path, text).await?;
                if progress && total >= 10 && (i + 1) % (total / 10) == 0 {
                    eprintln!(
                        "    {}/{total} documents, {:.0} s",
                        i + 1,
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let (after, _) = counts(db).await?;
    Ok(Rate {
        docs: docs.len(),
        chunks: (after - before) as usize,
        secs,
    })
}

/// Loads `docs` documents: 90 % by one writer (bulk), 5 % by one writer and
/// the last 5 % by `writers` concurrent writers, the last two at nearly the
/// same index size so they compare.
async fn load(
    db: &Database,
    memory: &Arc<dyn MemoryStore>,
    vocab: &Vocab,
    docs: usize,
    writers: usize,
    report: &mut Report,
) -> Res<()> {
    let a = docs * 90 / 100;
    let b = docs * 95 / 100;
    eprintln!("  bulk load: documents 0..{a}, one writer");
    report.bulk = write_range(db, memory, vocab, 0..a, 1, true).await?;
    eprintln!("  one writer: documents {a}..{b}");
    report.single = write_range(db, memory, vocab, a..b, 1, false).await?;
    eprintln!("  {writers} writers: documents {b}..{docs}");
    report.concurrent = write_range(db, memory, vocab, b..docs, writers, false).await?;
    report.writers = writers;
    Ok(())
}

// ---------------------------------------------------------------- search ---

async fn time_hybrid(
    memory: &Arc<dyn MemoryStore>,
    warmup: &[String],
    measured: &[String],
) -> Res<(Latency, usize)> {
    for q in warmup {
        memory.search(q, LIMIT).await?;
    }
    let mut samples = Vec::with_capacity(measured.len());
    let mut empty = 0;
    for q in measured {
        let t = Instant::now();
        let hits = memory.search(q, LIMIT).await?;
        samples.push(t.elapsed());
        if hits.is_empty() {
            empty += 1;
        }
    }
    Ok((Latency::of(samples), empty))
}

/// The same split on PostgreSQL, plus recall of the HNSW candidates against
/// an exact scan for the first [`RECALL_QUERIES`] queries.
async fn postgres_parts(url: &str, measured: &[String]) -> Res<(Latency, Latency, f64, f64)> {
    let client = pg_admin(url).await?;
    let embedder = LocalEmbedder::default();
    let candidates = indexer::candidates(LIMIT) as i64;
    // SQL text, not prepared statements, exactly as the store sends it: a
    // reused prepared statement may switch to a generic plan.
    let fts_sql = "SELECT c.id FROM memory_chunks c, to_tsquery('english', $1) q
             WHERE c.tsv @@ q ORDER BY ts_rank_cd(c.tsv, q) DESC, c.id LIMIT $2";
    let vec_sql = "SELECT chunk_id FROM memory_vec ORDER BY embedding <=> $1 LIMIT $2";
    client
        .batch_execute(&format!(
            "SET hnsw.ef_search = {}",
            candidates.clamp(40, 1000)
        ))
        .await?;
    let (mut fts, mut vec) = (Vec::new(), Vec::new());
    let mut approx = Vec::new();
    for q in measured {
        let tsquery = search_terms(q).join(" | ");
        let t = Instant::now();
        let n = client.query(fts_sql, &[&tsquery, &candidates]).await?.len();
        fts.push(t.elapsed());
        if n == 0 {
            return Err(format!("no full-text match for {q:?}").into());
        }
        let t = Instant::now();
        let v = embedder.embed(std::slice::from_ref(q))?.remove(0);
        let rows = client
            .query(vec_sql, &[&pgvector::Vector::from(v), &candidates])
            .await?;
        vec.push(t.elapsed());
        approx.push(rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>());
    }
    // Exact neighbours: the same ORDER BY with index scans off.
    client.batch_execute("SET enable_indexscan = off").await?;
    let (mut found, mut wanted) = (0usize, 0usize);
    for (q, approx) in measured.iter().zip(&approx).take(RECALL_QUERIES) {
        let v = embedder.embed(std::slice::from_ref(q))?.remove(0);
        let exact: Vec<i64> = client
            .query(vec_sql, &[&pgvector::Vector::from(v), &candidates])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        wanted += exact.len();
        found += exact.iter().filter(|id| approx.contains(id)).count();
    }
    let mut matches = 0i64;
    for q in measured {
        let tsquery = search_terms(q).join(" | ");
        let row = client
            .query_one(
                "SELECT count(*) FROM memory_chunks WHERE tsv @@ to_tsquery('english', $1)",
                &[&tsquery],
            )
            .await?;
        matches += row.get::<_, i64>(0);
    }
    Ok((
        Latency::of(fts),
        Latency::of(vec),
        matches as f64 / measured.len().max(1) as f64,
        found as f64 / wanted.max(1) as f64,
    ))
}

// --------------------------------------------------------------- backends ---

struct Setup {
    chunks: usize,
    docs: usize,
    queries: usize,
    writers: usize,
    keep: bool,
    vocab: Arc<Vocab>,
}

async fn counts(db: &Database) -> Res<(i64, i64)> {
    let ex = db.executor();
    let chunks = ex
        .query_opt("SELECT count(*) FROM memory_chunks", vec![])
        .await?
        .ok_or("no count")?
        .int(0)?;
    let docs = ex
        .query_opt("SELECT count(*) FROM memory_documents", vec![])
        .await?
        .ok_or("no count")?
        .int(0)?;
    Ok((chunks, docs))
}

/// Loads (unless a kept database already holds the corpus) and measures.
async fn measure(db: &Database, setup: &Setup, report: &mut Report) -> Res<()> {
    db.migrate().await?;
    let memory = db.memory(Arc::new(LocalEmbedder::default()));
    let (_, docs) = counts(db).await?;
    if docs as usize == setup.docs {
        eprintln!("  reusing the kept corpus ({docs} documents)");
    } else if docs == 0 {
        load(db, &memory, &setup.vocab, setup.docs, setup.writers, report).await?;
    } else {
        return Err(format!(
            "the kept database holds {docs} documents, not {}: delete it",
            setup.docs
        )
        .into());
    }
    (report.chunks, report.docs) = counts(db).await?;
    eprintln!(
        "  {} chunks in {} documents; searching",
        report.chunks, report.docs
    );
    let warmup = queries(&setup.vocab, WARMUP, 7);
    let measured = queries(&setup.vocab, setup.queries, 11);
    // The first search after opening: on SQLite it loads every vector into
    // memory, which is also what the anonymous RSS grows by.
    let rss = anon_rss_mb();
    let t = Instant::now();
    memory.search(&warmup[0], LIMIT).await?;
    report.first_search = t.elapsed();
    report.first_search_rss_mb = anon_rss_mb() - rss;
    (report.hybrid, report.empty_results) = time_hybrid(&memory, &warmup, &measured).await?;
    Ok(())
}

/// This process's anonymous resident memory (heap, not mapped files), MB.
fn anon_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1000.0)
}

async fn run_postgres(setup: &Setup) -> Res<Report> {
    let mut report = Report {
        backend: "PostgreSQL",
        ..Report::default()
    };
    let server = postgres_server_url()?;
    let admin = pg_admin(&server).await?;
    let name = if setup.keep {
        format!("ironclaw_bench_keep_{}", setup.chunks)
    } else {
        format!("ironclaw_bench_{}", uuid::Uuid::new_v4().simple())
    };
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if !exists {
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
    }
    let url = with_database(&server, &name)?;
    eprintln!("PostgreSQL: database {name}");
    let result = async {
        let db = Database::open(&DatabaseUrl::Postgres(url.clone())).await?;
        measure(&db, setup, &mut report).await?;
        let row = db
            .executor()
            .query_opt(
                "SELECT current_setting('server_version'), (SELECT extversion FROM pg_extension WHERE extname = 'vector'), pg_database_size(current_database())",
                vec![],
            )
            .await?
            .ok_or("no version")?;
        report.version = format!("PostgreSQL {} + pgvector {}", row.text(0)?, row.text(1)?);
        report.size_mb = row.int(2)? as f64 / 1e6;
        let measured = queries(&setup.vocab, setup.queries, 11);
        let recall;
        (report.fts, report.vector, report.mean_text_matches, recall) =
            postgres_parts(&url, &measured).await?;
        report.recall = Some(recall);
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    }
    .await;
    if !setup.keep {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
    }
    result.map(|()| report)
}

// ------------------------------------------------------------------ main ---

fn print(reports: &[Report], setup: &Setup) {
    println!();
    println!(
        "Hybrid search, limit {LIMIT}, {} queries after {WARMUP} warm-up, one at a time (ms):",
        setup.queries
    );
    println!();
    println!(
        "| backend | chunks | docs | p50 | p95 | p99 | max | mean | FTS p50 / p95 | vector p50 / p95 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in reports {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} |",
            r.backend,
            r.chunks,
            r.docs,
            ms(r.hybrid.p50),
            ms(r.hybrid.p95),
            ms(r.hybrid.p99),
            ms(r.hybrid.max),
            ms(r.hybrid.mean),
            ms(r.fts.p50),
            ms(r.fts.p95),
            ms(r.vector.p50),
            ms(r.vector.p95),
        );
    }
    println!();
    for r in reports {
        print!(
            "{}: first search after opening {} ms (anonymous RSS {:+.0} MB)",
            r.backend,
            ms(r.first_search),
            r.first_search_rss_mb
        );
        if let Some(before) = &r.vector_before {
            print!(
                "; sqlite-vec KNN over the stored vectors (the old vector half) p50 / p95 {} / {} ms",
                ms(before.p50),
                ms(before.p95)
            );
        }
        println!();
    }
    println!();
    println!("Inserts through MemoryStore::write (chunk, embed, one transaction per document):");
    println!();
    println!(
        "| backend | bulk, 1 writer (0–90 %) | 1 writer (90–95 %) | N writers (95–100 %) | size |"
    );
    println!("|---|---:|---:|---:|---:|");
    for r in reports {
        println!(
            "| {} | {} | {} | {} ({} writers) | {:.0} MB |",
            r.backend,
            r.bulk.show(),
            r.single.show(),
            r.concurrent.show(),
            r.writers,
            r.size_mb
        );
    }
    println!();
    for r in reports {
        print!(
            "{}: {}; mean full-text matches per query {:.0} of {}; queries with no result {}",
            r.backend, r.version, r.mean_text_matches, r.chunks, r.empty_results
        );
        if let Some(sim) = r.similarity {
            print!(
                "; mean exact cosine similarity of the neighbours ranked {CURVE_RANKS:?}: {:.3} / {:.3} / {:.3} / {:.3}",
                sim[0], sim[1], sim[2], sim[3]
            );
        }
        if let Some(recall) = r.recall {
            let what = if r.vector_before.is_some() {
                "in-memory scan's agreement with sqlite-vec's KNN on"
            } else {
                "HNSW recall of"
            };
            print!(
                "; {what} the {} vector candidates: {:.3} (first {RECALL_QUERIES} queries)",
                indexer::candidates(LIMIT),
                recall
            );
        }
        println!();
    }
}

fn main() -> Res<()> {
    // `cargo bench` passes `--bench`; there is nothing else to parse.
    let chunks = env_usize("IRONCLAW_BENCH_CHUNKS", 100_000).max(100);
    let backends = std::env::var("IRONCLAW_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,postgres".to_string())
        .to_lowercase();
    let vocab = Arc::new(Vocab::new());
    let t = Instant::now();
    let (docs, planned) = plan(&vocab, chunks);
    let setup = Setup {
        chunks,
        docs,
        queries: env_usize("IRONCLAW_BENCH_QUERIES", 300).max(1),
        writers: env_usize("IRONCLAW_BENCH_WRITERS", 4).max(1),
        keep: std::env::var("IRONCLAW_BENCH_KEEP").is_ok_and(|v| v == "1"),
        vocab,
    };
    eprintln!(
        "corpus: {docs} documents, {planned} chunks (planned in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut reports = Vec::new();
    for backend in backends.split(',').map(str::trim) {
        let report = match backend {
            "sqlite" => runtime.block_on(run_sqlite(&setup))?,
            "postgres" | "postgresql" => runtime.block_on(run_postgres(&setup))?,
            other => return Err(format!("unknown backend {other:?}").into()),
        };
        reports.push(report);
    }
    print(&reports, &setup);
    Ok(())
}
