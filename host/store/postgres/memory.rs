//! Workspace memory on PostgreSQL: tsvector (GIN) for words, pgvector HNSW
//! with cosine distance for vectors, fused by reciprocal rank exactly as on
//! SQLite.

use std::sync::Arc;

use deadpool_postgres::Transaction;
use pgvector::Vector;

use super::PgDb;
use crate::memory::embedder::Embedder;
use crate::memory::indexer::{self, Indexer, Prepared, search_terms};
use crate::memory::workspace::{
    Document, MemoryError, MemoryStore, SearchHit, WriteOutcome, validate_path, validate_prefix,
};
use crate::store::{StoreError, now_ms};

/// Advisory lock key serialising creation of the vector table.
const INDEX_LOCK: i64 = 0x6d65_6d5f_696e_6478;
/// pgvector's HNSW indexes vectors of at most this many dimensions; wider
/// ones are searched exactly (slower, still correct).
const HNSW_MAX_DIMS: usize = 2000;

#[derive(Clone)]
pub struct PgMemory {
    db: PgDb,
    indexer: Indexer,
}

impl PgMemory {
    pub fn new(db: PgDb, embedder: Arc<dyn Embedder>) -> PgMemory {
        PgMemory {
            db,
            indexer: Indexer::new(embedder),
        }
    }
}

impl From<tokio_postgres::Error> for MemoryError {
    fn from(e: tokio_postgres::Error) -> Self {
        MemoryError::Store(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for MemoryError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        MemoryError::Store(e.into())
    }
}

async fn index_meta(tx: &Transaction<'_>) -> Result<Option<(String, usize)>, MemoryError> {
    let row = tx
        .query_opt(
            "SELECT model, dimensions FROM memory_index WHERE id = 1",
            &[],
        )
        .await?;
    Ok(row.map(|r| {
        let dims: i64 = r.get(1);
        (r.get(0), usize::try_from(dims).unwrap_or(0))
    }))
}

async fn check_index(tx: &Transaction<'_>, model: &str, dims: usize) -> Result<(), MemoryError> {
    match index_meta(tx).await? {
        None => Err(MemoryError::IndexNotBuilt),
        Some((m, d)) if m == model && d == dims => Ok(()),
        Some((index_model, index_dims)) => Err(MemoryError::EmbedderMismatch {
            index_model,
            index_dims,
            model: model.to_string(),
            dims,
        }),
    }
}

/// Creates the vector table for this embedder on first use. Two first
/// writers race here, so creation happens under an advisory lock and the
/// loser sees the winner's table.
async fn ensure_index(tx: &Transaction<'_>, model: &str, dims: usize) -> Result<(), MemoryError> {
    if index_meta(tx).await?.is_none() {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INDEX_LOCK])
            .await?;
        if index_meta(tx).await?.is_none() {
            let mut ddl = format!(
                "CREATE TABLE memory_vec (
                    chunk_id  BIGINT PRIMARY KEY REFERENCES memory_chunks (id) ON DELETE CASCADE,
                    embedding vector({dims}) NOT NULL
                );"
            );
            if dims <= HNSW_MAX_DIMS {
                ddl.push_str(
                    "CREATE INDEX memory_vec_hnsw ON memory_vec USING hnsw (embedding vector_cosine_ops);",
                );
            }
            tx.batch_execute(&ddl).await?;
            tx.execute(
                "INSERT INTO memory_index (id, model, dimensions, built_at) VALUES (1, $1, $2, $3)",
                &[&model, &(dims as i64), &now_ms()],
            )
            .await?;
        }
    }
    check_index(tx, model, dims).await
}

/// Serialises writers of one path (two first writes must not both insert).
async fn lock_path(tx: &Transaction<'_>, path: &str) -> Result<(), MemoryError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
        &[&path],
    )
    .await?;
    Ok(())
}

async fn store_document(
    tx: &Transaction<'_>,
    path: &str,
    prepared: &Prepared,
    model: &str,
    dims: usize,
) -> Result<WriteOutcome, MemoryError> {
    ensure_index(tx, model, dims).await?;
    lock_path(tx, path).await?;
    let now = now_ms();
    let existing = tx
        .query_opt(
            "SELECT id, content_hash FROM memory_documents WHERE path = $1",
            &[&path],
        )
        .await?
        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)));
    let (id, outcome) = match existing {
        Some((_, old)) if old == prepared.hash => return Ok(WriteOutcome::Unchanged),
        Some((id, _)) => {
            // Vectors go with their chunks (ON DELETE CASCADE).
            tx.execute("DELETE FROM memory_chunks WHERE document_id = $1", &[&id])
                .await?;
            tx.execute(
                "UPDATE memory_documents SET content = $1, content_hash = $2, updated_at = $3 WHERE id = $4",
                &[&prepared.content, &prepared.hash, &now, &id],
            )
            .await?;
            (id, WriteOutcome::Updated)
        }
        None => {
            let row = tx
                .query_one(
                    "INSERT INTO memory_documents (path, content, content_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                    &[&path, &prepared.content, &prepared.hash, &now],
                )
                .await?;
            (row.get(0), WriteOutcome::Created)
        }
    };
    insert_chunks(tx, id, prepared).await?;
    Ok(outcome)
}

/// All chunks and vectors of a document in two statements (arrays through
/// `unnest`), not two round trips per chunk.
async fn insert_chunks(
    tx: &Transaction<'_>,
    document_id: i64,
    prepared: &Prepared,
) -> Result<(), MemoryError> {
    if prepared.chunks.is_empty() {
        return Ok(());
    }
    let c = &prepared.chunks;
    let idx: Vec<i64> = c.iter().map(|c| c.index as i64).collect();
    let text: Vec<&str> = c.iter().map(|c| c.text.as_str()).collect();
    let heading: Vec<Option<&str>> = c.iter().map(|c| c.heading.as_deref()).collect();
    let start: Vec<i64> = c.iter().map(|c| c.start_byte as i64).collect();
    let end: Vec<i64> = c.iter().map(|c| c.end_byte as i64).collect();
    let ids: Vec<i64> = tx
        .query(
            "INSERT INTO memory_chunks (document_id, idx, text, heading, start_byte, end_byte)
             SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
             RETURNING id, idx",
            &[&document_id, &idx, &text, &heading, &start, &end],
        )
        .await?
        .iter()
        .map(|r| (r.get::<_, i64>(1), r.get::<_, i64>(0)))
        .collect::<std::collections::BTreeMap<i64, i64>>()
        .into_values()
        .collect();
    if ids.len() != prepared.vectors.len() {
        return Err(StoreError::Database(format!(
            "stored {} chunks for {} vectors",
            ids.len(),
            prepared.vectors.len()
        ))
        .into());
    }
    let vectors: Vec<Vector> = prepared
        .vectors
        .iter()
        .map(|v| Vector::from(v.clone()))
        .collect();
    tx.execute(
        "INSERT INTO memory_vec (chunk_id, embedding) SELECT * FROM unnest($1::bigint[], $2::vector[])",
        &[&ids, &vectors],
    )
    .await?;
    Ok(())
}

/// `prefix%` for LIKE, with LIKE's own wildcards in the prefix escaped.
fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[async_trait::async_trait]
impl MemoryStore for PgMemory {
    fn location(&self) -> String {
        self.db.display().to_string()
    }

    async fn write(&self, path: &str, content: &str) -> Result<WriteOutcome, MemoryError> {
        validate_path(path)?;
        let prepared = self.indexer.prepare(content)?;
        let mut client = self.db.pool().get().await?;
        let tx = client.transaction().await?;
        let outcome = store_document(
            &tx,
            path,
            &prepared,
            self.indexer.model(),
            self.indexer.dimensions(),
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn read(&self, path: &str) -> Result<Option<Document>, MemoryError> {
        validate_path(path)?;
        let client = self.db.pool().get().await?;
        let row = client
            .query_opt(
                "SELECT path, content, created_at, updated_at FROM memory_documents WHERE path = $1",
                &[&path],
            )
            .await?;
        Ok(row.map(|r| Document {
            path: r.get(0),
            content: r.get(1),
            created_at: r.get(2),
            updated_at: r.get(3),
        }))
    }

    async fn delete(&self, path: &str) -> Result<bool, MemoryError> {
        validate_path(path)?;
        let client = self.db.pool().get().await?;
        // Chunks and vectors follow by ON DELETE CASCADE.
        let n = client
            .execute("DELETE FROM memory_documents WHERE path = $1", &[&path])
            .await?;
        Ok(n > 0)
    }

    async fn tree(&self, prefix: &str) -> Result<Vec<String>, MemoryError> {
        validate_prefix(prefix)?;
        let client = self.db.pool().get().await?;
        let rows = client
            .query(
                "SELECT path FROM memory_documents WHERE path LIKE $1 ESCAPE '\\' ORDER BY path",
                &[&like_prefix(prefix)],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, MemoryError> {
        let limit = limit.clamp(1, indexer::MAX_RESULTS);
        let candidates = indexer::candidates(limit) as i64;
        let vector = self.indexer.embed_query(query)?;
        let terms = search_terms(query);
        let mut client = self.db.pool().get().await?;
        let tx = client.build_transaction().read_only(true).start().await?;
        check_index(&tx, self.indexer.model(), self.indexer.dimensions()).await?;
        let mut text_ids: Vec<i64> = Vec::new();
        if !terms.is_empty() {
            // Terms are plain alphanumeric words, so OR-ing them with `|`
            // cannot form any other tsquery syntax.
            let tsquery = terms.join(" | ");
            text_ids = tx
                .query(
                    "SELECT c.id FROM memory_chunks c, to_tsquery('english', $1) q
                     WHERE c.tsv @@ q ORDER BY ts_rank_cd(c.tsv, q) DESC, c.id LIMIT $2",
                    &[&tsquery, &candidates],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
        }
        let mut vector_ids: Vec<i64> = Vec::new();
        if let Some(vector) = vector {
            // HNSW returns at most ef_search rows; ask for enough candidates.
            tx.batch_execute(&format!(
                "SET LOCAL hnsw.ef_search = {}",
                candidates.clamp(40, 1000)
            ))
            .await?;
            vector_ids = tx
                .query(
                    "SELECT chunk_id FROM memory_vec ORDER BY embedding <=> $1 LIMIT $2",
                    &[&Vector::from(vector), &candidates],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
        }
        let fused = indexer::fuse(&text_ids, &vector_ids, limit);
        let ids: Vec<i64> = fused.iter().map(|f| f.chunk_id).collect();
        let rows = tx
            .query(
                "SELECT c.id, d.path, c.text, c.heading FROM memory_chunks c
                 JOIN memory_documents d ON d.id = c.document_id WHERE c.id = ANY($1)",
                &[&ids],
            )
            .await?;
        tx.commit().await?;
        let mut found: std::collections::HashMap<i64, (String, String, Option<String>)> = rows
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
            .collect();
        Ok(fused
            .into_iter()
            .filter_map(|f| {
                let (path, snippet, heading) = found.remove(&f.chunk_id)?;
                Some(SearchHit {
                    path,
                    snippet,
                    heading,
                    score: f.score,
                    text_rank: f.text_rank,
                    vector_rank: f.vector_rank,
                })
            })
            .collect())
    }

    async fn reindex(&self) -> Result<usize, MemoryError> {
        let client = self.db.pool().get().await?;
        let docs: Vec<(String, String)> = client
            .query(
                "SELECT path, content FROM memory_documents ORDER BY path",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        drop(client);
        let mut prepared = Vec::with_capacity(docs.len());
        for (path, content) in docs {
            prepared.push((path, self.indexer.prepare(&content)?));
        }
        let (model, dims) = (self.indexer.model(), self.indexer.dimensions());
        let mut client = self.db.pool().get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INDEX_LOCK])
            .await?;
        tx.batch_execute(
            "DELETE FROM memory_chunks; DROP TABLE IF EXISTS memory_vec; DELETE FROM memory_index;",
        )
        .await?;
        ensure_index(&tx, model, dims).await?;
        for (path, p) in &prepared {
            // Force a rewrite: the stored hash is cleared first.
            tx.execute(
                "UPDATE memory_documents SET content_hash = '' WHERE path = $1",
                &[path],
            )
            .await?;
            store_document(&tx, path, p, model, dims).await?;
        }
        tx.commit().await?;
        Ok(prepared.len())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_prefixes_escape_wildcards() {
        assert_eq!(super::like_prefix("a_b%/"), "a\\_b\\%/%");
        assert_eq!(super::like_prefix(""), "%");
    }
}
