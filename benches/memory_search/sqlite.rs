//! The SQLite side of the memory search benchmark: the two halves of hybrid
//! search timed apart, sqlite-vec's own KNN for comparison (the vector half
//! before the in-memory copy), and how far the two vector answers agree.

use ironclaw::store::sqlite::memory::SqliteMemory;

use super::*;

fn fts_expression(query: &str) -> Option<String> {
    let quoted: Vec<String> = search_terms(query)
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" OR "))
}

fn blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

const VEC0_KNN: &str =
    "SELECT chunk_id FROM memory_vec WHERE embedding MATCH ?1 AND k = ?2 ORDER BY distance";

/// Ranks at which [`similarity_curve`] reports the exact cosine similarity.
pub(super) const CURVE_RANKS: [usize; 4] = [1, 10, 40, 1000];

/// Mean exact cosine similarity between a query and its neighbours at
/// [`CURVE_RANKS`], over the first 20 queries: how far the true nearest
/// neighbours stand out from the crowd (a flat curve means near-ties,
/// which no approximate index can be expected to reproduce).
fn similarity_curve(conn: &rusqlite::Connection, measured: &[String]) -> Res<[f64; 4]> {
    let embedder = LocalEmbedder::default();
    let k = CURVE_RANKS[3] as i64;
    let mut stmt = conn.prepare(
        "SELECT distance FROM memory_vec WHERE embedding MATCH ?1 AND k = ?2 ORDER BY distance",
    )?;
    let mut sums = [0f64; 4];
    let queries = &measured[..measured.len().min(20)];
    for q in queries {
        let v = embedder.embed(std::slice::from_ref(q))?.remove(0);
        let d: Vec<f64> = stmt
            .query_map(rusqlite::params![blob(&v), k], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for (sum, rank) in sums.iter_mut().zip(CURVE_RANKS) {
            *sum += 1.0 - d.get(rank - 1).copied().unwrap_or(1.0);
        }
    }
    Ok(sums.map(|s| s / queries.len().max(1) as f64))
}

/// Timed with SQL on one of the store's own connections: the full-text
/// half (the store's statement), sqlite-vec's KNN over the stored vectors
/// (what the vector half was before the in-memory copy; includes embedding
/// the query), the mean full-text matches, and sqlite-vec's candidates for
/// the first [`RECALL_QUERIES`] queries.
struct SqlParts {
    fts: Latency,
    vec0: Latency,
    mean_matches: f64,
    vec0_ids: Vec<Vec<i64>>,
}

fn sql_parts(conn: &rusqlite::Connection, measured: &[String]) -> Res<SqlParts> {
    let embedder = LocalEmbedder::default();
    let candidates = indexer::candidates(LIMIT) as i64;
    let mut fts_stmt = conn.prepare(
        "SELECT rowid FROM memory_chunks_fts WHERE memory_chunks_fts MATCH ?1 ORDER BY bm25(memory_chunks_fts) LIMIT ?2",
    )?;
    let mut count_stmt =
        conn.prepare("SELECT count(*) FROM memory_chunks_fts WHERE memory_chunks_fts MATCH ?1")?;
    let mut vec_stmt = conn.prepare(VEC0_KNN)?;
    let (mut fts, mut vec, mut matches) = (Vec::new(), Vec::new(), 0i64);
    let mut vec0_ids = Vec::new();
    for (i, q) in measured.iter().enumerate() {
        let expr = fts_expression(q).ok_or("query without words")?;
        let t = Instant::now();
        let n = stmt_count(&mut fts_stmt, rusqlite::params![expr, candidates])?;
        fts.push(t.elapsed());
        if n == 0 {
            return Err(format!("no full-text match for {q:?}").into());
        }
        matches += count_stmt.query_row([&expr], |r| r.get::<_, i64>(0))?;
        let t = Instant::now();
        let v = embedder.embed(std::slice::from_ref(q))?.remove(0);
        let ids: Vec<i64> = vec_stmt
            .query_map(rusqlite::params![blob(&v), candidates], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        vec.push(t.elapsed());
        if i < RECALL_QUERIES {
            vec0_ids.push(ids);
        }
    }
    Ok(SqlParts {
        fts: Latency::of(fts),
        vec0: Latency::of(vec),
        mean_matches: matches as f64 / measured.len().max(1) as f64,
        vec0_ids,
    })
}

fn stmt_count(stmt: &mut rusqlite::Statement, params: impl rusqlite::Params) -> Res<usize> {
    let mut rows = stmt.query(params)?;
    let mut n = 0;
    while rows.next()?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// The vector half exactly as `search` runs it (embed the query, read the
/// index generation in a read transaction, scan the in-memory copy), through
/// the store; and its candidates for the first [`RECALL_QUERIES`] queries.
async fn vector_half(memory: &SqliteMemory, measured: &[String]) -> Res<(Latency, Vec<Vec<i64>>)> {
    let candidates = indexer::candidates(LIMIT);
    let (mut samples, mut ids) = (Vec::new(), Vec::new());
    for (i, q) in measured.iter().enumerate() {
        let t = Instant::now();
        let found = memory.nearest(q, candidates).await?;
        samples.push(t.elapsed());
        if i < RECALL_QUERIES {
            ids.push(found);
        }
    }
    Ok((Latency::of(samples), ids))
}

pub(super) async fn run_sqlite(setup: &Setup) -> Res<Report> {
    let mut report = Report {
        backend: "SQLite",
        ..Report::default()
    };
    let tmp = tempfile::tempdir()?;
    let path = if setup.keep {
        let dir = repo().join("target/bench-memory");
        std::fs::create_dir_all(&dir)?;
        dir.join(format!("sqlite-{}.db", setup.chunks))
    } else {
        tmp.path().join("memory.db")
    };
    eprintln!("SQLite: {}", path.display());
    let db = Database::open(&DatabaseUrl::Sqlite(path.clone())).await?;
    measure(&db, setup, &mut report).await?;
    let version = db
        .executor()
        .query_opt("SELECT sqlite_version(), vec_version()", vec![])
        .await?
        .ok_or("no version")?;
    report.version = format!(
        "SQLite {} + sqlite-vec {}",
        version.text(0)?,
        version.text(1)?
    );
    let measured = queries(&setup.vocab, setup.queries, 11);
    let Database::Sqlite(sqlite) = &db else {
        return Err("not SQLite".into());
    };
    // Same database handle, so the same in-memory copy `measure` loaded.
    let memory = SqliteMemory::new(sqlite.clone(), Arc::new(LocalEmbedder::default()));
    let (vector, ours) = vector_half(&memory, &measured).await?;
    report.vector = vector;
    let sql_queries = measured.clone();
    let (parts, similarity) = sqlite
        .call(move |conn| -> Res<_> {
            Ok((
                sql_parts(conn, &sql_queries)?,
                similarity_curve(conn, &sql_queries)?,
            ))
        })
        .await?;
    report.similarity = Some(similarity);
    (report.fts, report.mean_text_matches) = (parts.fts, parts.mean_matches);
    report.vector_before = Some(parts.vec0);
    // Both are exact, so they should agree but for near-ties at the 40th
    // place, where either of two equally distant chunks is right.
    let (mut found, mut wanted) = (0usize, 0usize);
    for (theirs, ours) in parts.vec0_ids.iter().zip(&ours) {
        wanted += theirs.len();
        found += theirs.iter().filter(|id| ours.contains(id)).count();
    }
    report.recall = Some(found as f64 / wanted.max(1) as f64);
    drop(db);
    report.size_mb = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len() as f64 / 1e6)
        .sum();
    Ok(report)
}
