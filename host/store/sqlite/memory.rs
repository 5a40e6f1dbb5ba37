//! Workspace memory on SQLite: FTS5 for words, vectors stored in a
//! sqlite-vec `vec0` table and searched exactly from an in-memory copy
//! ([`super::vector_cache`]), fused by reciprocal rank.

use std::sync::Arc;

use rusqlite::{OptionalExtension, Transaction, params};

use super::SqliteDb;
use super::vector_cache::{Change, check_index, index_meta};
use crate::memory::embedder::Embedder;
use crate::memory::indexer::{self, Indexer, Prepared, search_terms};
use crate::memory::workspace::{
    Document, MemoryError, MemoryStore, SearchHit, WriteOutcome, validate_path, validate_prefix,
};
use crate::store::now_ms;

#[derive(Clone)]
pub struct SqliteMemory {
    db: SqliteDb,
    indexer: Indexer,
}

impl SqliteMemory {
    pub fn new(db: SqliteDb, embedder: Arc<dyn Embedder>) -> SqliteMemory {
        SqliteMemory {
            db,
            indexer: Indexer::new(embedder),
        }
    }

    /// The vector half of [`MemoryStore::search`] alone: the ids of the `k`
    /// chunks nearest to `query` by cosine similarity, best first (empty
    /// when the query has no direction). For benchmarks and tests.
    pub async fn nearest(&self, query: &str, k: usize) -> Result<Vec<i64>, MemoryError> {
        let vector = self.indexer.embed_query(query)?;
        let (model, dims) = (self.indexer.model().to_string(), self.indexer.dimensions());
        let cache = self.db.vector_cache().clone();
        self.db
            .call(move |conn| -> Result<_, MemoryError> {
                let (_tx, ids, ()) =
                    cache.read_nearest(conn, &model, dims, vector.as_deref(), k, |_| Ok(()))?;
                Ok(ids)
            })
            .await
    }

    /// How many times the in-memory vectors were loaded in full from the
    /// database (by any handle on this database); writes through this
    /// process update them in place instead.
    pub fn vector_loads(&self) -> u64 {
        self.db.vector_cache().loads()
    }
}

fn as_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Creates the vector table for this embedder on first use.
fn ensure_index(tx: &Transaction, model: &str, dims: usize) -> Result<(), MemoryError> {
    if index_meta(tx)?.is_none() {
        tx.execute_batch(&format!(
            "CREATE VIRTUAL TABLE memory_vec USING vec0 (chunk_id INTEGER PRIMARY KEY, embedding float[{dims}] distance_metric=cosine)"
        ))?;
        tx.execute(
            "INSERT INTO memory_index (id, model, dimensions, built_at) VALUES (1, ?1, ?2, ?3)",
            params![model, dims as i64, now_ms()],
        )?;
    }
    check_index(tx, model, dims).map(|_| ())
}

/// Deletes a document's chunks and their vectors; returns the chunk ids.
fn delete_chunks(tx: &Transaction, document_id: i64) -> Result<Vec<i64>, MemoryError> {
    let ids: Vec<i64> = tx
        .prepare_cached("SELECT id FROM memory_chunks WHERE document_id = ?1")?
        .query_map([document_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if index_meta(tx)?.is_some() {
        tx.execute(
            "DELETE FROM memory_vec WHERE chunk_id IN (SELECT id FROM memory_chunks WHERE document_id = ?1)",
            [document_id],
        )?;
    }
    tx.execute(
        "DELETE FROM memory_chunks WHERE document_id = ?1",
        [document_id],
    )?;
    Ok(ids)
}

/// The query's words as an FTS5 expression: each quoted, OR-ed.
fn fts_query(query: &str) -> Option<String> {
    let quoted: Vec<String> = search_terms(query)
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" OR "))
}

/// Stores one document with its chunks and vectors; returns what happened
/// and, unless nothing changed, the change to the vectors.
fn store_document(
    tx: &Transaction,
    path: &str,
    prepared: &Prepared,
    model: &str,
    dims: usize,
) -> Result<(WriteOutcome, Option<Change>), MemoryError> {
    ensure_index(tx, model, dims)?;
    let now = now_ms();
    let mut removed = Vec::new();
    let existing: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, content_hash FROM memory_documents WHERE path = ?1",
            [path],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (id, outcome) = match existing {
        Some((_, old)) if old == prepared.hash => return Ok((WriteOutcome::Unchanged, None)),
        Some((id, _)) => {
            removed = delete_chunks(tx, id)?;
            tx.execute(
                "UPDATE memory_documents SET content = ?1, content_hash = ?2, updated_at = ?3 WHERE id = ?4",
                params![prepared.content, prepared.hash, now, id],
            )?;
            (id, WriteOutcome::Updated)
        }
        None => {
            tx.execute(
                "INSERT INTO memory_documents (path, content, content_hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![path, prepared.content, prepared.hash, now],
            )?;
            (tx.last_insert_rowid(), WriteOutcome::Created)
        }
    };
    let mut added = Vec::with_capacity(prepared.chunks.len());
    for (chunk, vector) in prepared.chunks.iter().zip(&prepared.vectors) {
        tx.execute(
            "INSERT INTO memory_chunks (document_id, idx, text, heading, start_byte, end_byte) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, chunk.index as i64, chunk.text, chunk.heading, chunk.start_byte as i64, chunk.end_byte as i64],
        )?;
        let chunk_id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO memory_vec (chunk_id, embedding) VALUES (?1, ?2)",
            params![chunk_id, as_blob(vector)],
        )?;
        added.push((chunk_id, vector.clone()));
    }
    Ok((outcome, Some(Change::Chunks { removed, added })))
}

#[async_trait::async_trait]
impl MemoryStore for SqliteMemory {
    fn location(&self) -> String {
        format!("sqlite://{}", self.db.path().display())
    }

    async fn write(&self, path: &str, content: &str) -> Result<WriteOutcome, MemoryError> {
        validate_path(path)?;
        // Chunk and embed before taking the write lock: CPU work stays outside it.
        let prepared = self.indexer.prepare(content)?;
        let path = path.to_string();
        let (model, dims) = (self.indexer.model().to_string(), self.indexer.dimensions());
        let cache = self.db.vector_cache().clone();
        self.db
            .call(move |conn| -> Result<_, MemoryError> {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let (outcome, change) = store_document(&tx, &path, &prepared, &model, dims)?;
                match change {
                    Some(change) => cache.commit(tx, change)?,
                    None => tx.commit()?,
                }
                Ok(outcome)
            })
            .await
    }

    async fn read(&self, path: &str) -> Result<Option<Document>, MemoryError> {
        validate_path(path)?;
        let path = path.to_string();
        Ok(self
            .db
            .call(move |conn| -> Result<_, MemoryError> {
                Ok(conn
                    .query_row(
                        "SELECT path, content, created_at, updated_at FROM memory_documents WHERE path = ?1",
                        [&path],
                        |r| {
                            Ok(Document {
                                path: r.get(0)?,
                                content: r.get(1)?,
                                created_at: r.get(2)?,
                                updated_at: r.get(3)?,
                            })
                        },
                    )
                    .optional()?)
            })
            .await?)
    }

    async fn delete(&self, path: &str) -> Result<bool, MemoryError> {
        validate_path(path)?;
        let path = path.to_string();
        let cache = self.db.vector_cache().clone();
        Ok(self
            .db
            .call(move |conn| -> Result<_, MemoryError> {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let id: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM memory_documents WHERE path = ?1",
                        [&path],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(id) = id else { return Ok(false) };
                let removed = delete_chunks(&tx, id)?;
                tx.execute("DELETE FROM memory_documents WHERE id = ?1", [id])?;
                if index_meta(&tx)?.is_some() {
                    let change = Change::Chunks {
                        removed,
                        added: Vec::new(),
                    };
                    cache.commit(tx, change)?;
                } else {
                    tx.commit()?; // no index, so no vectors to account for
                }
                Ok(true)
            })
            .await?)
    }

    async fn tree(&self, prefix: &str) -> Result<Vec<String>, MemoryError> {
        validate_prefix(prefix)?;
        let prefix = prefix.to_string();
        Ok(self
            .db
            .call(move |conn| -> Result<_, MemoryError> {
                let mut stmt = conn.prepare(
                    "SELECT path FROM memory_documents WHERE substr(path, 1, length(?1)) = ?1 ORDER BY path",
                )?;
                let rows = stmt.query_map([&prefix], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?)
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, MemoryError> {
        let limit = limit.clamp(1, indexer::MAX_RESULTS);
        let candidates = indexer::candidates(limit);
        let vector = self.indexer.embed_query(query)?;
        let fts = fts_query(query);
        let (model, dims) = (self.indexer.model().to_string(), self.indexer.dimensions());
        let cache = self.db.vector_cache().clone();
        self.db
            .call(move |conn| -> Result<_, MemoryError> {
                // One read transaction: both lists and the hits come from the
                // same snapshot, so a concurrent delete cannot leave a ranked
                // chunk without its row; the vector list comes from the
                // in-memory copy brought up to that snapshot.
                let full_text = |tx: &Transaction| -> Result<Vec<i64>, MemoryError> {
                    let Some(fts) = &fts else {
                        return Ok(Vec::new());
                    };
                    let mut stmt = tx.prepare_cached(
                        "SELECT rowid FROM memory_chunks_fts WHERE memory_chunks_fts MATCH ?1 ORDER BY bm25(memory_chunks_fts) LIMIT ?2",
                    )?;
                    let ids = stmt
                        .query_map(params![fts, candidates as i64], |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    Ok(ids)
                };
                let (conn, vector_ids, text_ids) =
                    cache.read_nearest(conn, &model, dims, vector.as_deref(), candidates, full_text)?;
                let mut stmt = conn.prepare_cached(
                    "SELECT d.path, c.text, c.heading FROM memory_chunks c JOIN memory_documents d ON d.id = c.document_id WHERE c.id = ?1",
                )?;
                let mut hits = Vec::new();
                for f in indexer::fuse(&text_ids, &vector_ids, limit) {
                    let row = stmt
                        .query_row([f.chunk_id], |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?))
                        })
                        .optional()?;
                    let Some((path, snippet, heading)) = row else {
                        continue;
                    };
                    hits.push(SearchHit {
                        path,
                        snippet,
                        heading,
                        score: f.score,
                        text_rank: f.text_rank,
                        vector_rank: f.vector_rank,
                    });
                }
                Ok(hits)
            })
            .await
    }

    async fn reindex(&self) -> Result<usize, MemoryError> {
        let docs: Vec<(String, String)> = self
            .db
            .call(|conn| -> Result<_, MemoryError> {
                let mut stmt =
                    conn.prepare("SELECT path, content FROM memory_documents ORDER BY path")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        let mut prepared = Vec::with_capacity(docs.len());
        for (path, content) in docs {
            prepared.push((path, self.indexer.prepare(&content)?));
        }
        let count = prepared.len();
        let (model, dims) = (self.indexer.model().to_string(), self.indexer.dimensions());
        let cache = self.db.vector_cache().clone();
        self.db
            .call(move |conn| -> Result<_, MemoryError> {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                // The generation carries over the rebuilt row, so a copy of
                // the old index held anywhere can never look current.
                let generation = index_meta(&tx)?.map_or(0, |m| m.generation);
                tx.execute_batch(
                    "DELETE FROM memory_chunks; DROP TABLE IF EXISTS memory_vec; DELETE FROM memory_index;",
                )?;
                ensure_index(&tx, &model, dims)?;
                for (path, p) in &prepared {
                    // Force a rewrite: the stored hash is cleared first.
                    tx.execute("UPDATE memory_documents SET content_hash = '' WHERE path = ?1", [path])?;
                    store_document(&tx, path, p, &model, dims)?;
                }
                tx.execute("UPDATE memory_index SET generation = ?1 WHERE id = 1", [generation])?;
                cache.commit(tx, Change::Rebuilt)
            })
            .await?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn fts_queries_are_quoted_words() {
        assert_eq!(
            fts_query("What's \"NEAR\"(x)?").as_deref(),
            Some("\"s\" OR \"near\" OR \"x\"")
        );
        assert_eq!(fts_query("?!"), None);
    }
}
