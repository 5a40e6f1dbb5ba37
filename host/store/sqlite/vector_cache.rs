//! The workspace's vectors held in memory for exact search on SQLite.
//!
//! The database stays the source of truth: vectors are written to the
//! sqlite-vec `memory_vec` table in the same transaction as their chunks, as
//! before. sqlite-vec's KNN is a scalar brute-force scan over its stored
//! blobs (~36 ms at 100,000 × 384); the same exact answer from a contiguous
//! in-memory copy takes ~5 ms ([`ExactIndex`], BENCHMARKS.md). The copy costs
//! `chunks × dims × 4` bytes of RAM (154 MB at 100,000 × 384).
//!
//! Staleness: `memory_index.generation` is bumped in the same transaction as
//! every change to the vectors, by any process. The copy records the
//! generation it reflects; a search compares it with the generation in its
//! own read snapshot and reloads on any difference, so a write by another
//! process (`ironclaw memory write` while `ironclaw run` serves) is seen by
//! the next search. Writes through this handle apply their change to the
//! copy directly instead, when the copy was current before them.
//!
//! Locking: this process's writers commit while holding the copy's write
//! lock, and a search takes the read lock *before* its snapshot starts. So
//! while a search holds the lock, no commit of this process can land between
//! its snapshot and its look at the copy, and the copy's generation equals
//! the snapshot's unless another process wrote. Readers never wait on
//! SQLite's write lock in WAL mode, so the two locks cannot deadlock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockWriteGuard};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Transaction};

use crate::memory::exact::{ExactIndex, ExactIndexError};
use crate::memory::workspace::MemoryError;
use crate::store::StoreError;

/// The vector index's row in `memory_index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexMeta {
    pub model: String,
    pub dims: usize,
    pub generation: i64,
}

/// The index's metadata, if it was ever built.
pub fn index_meta(conn: &Connection) -> Result<Option<IndexMeta>, MemoryError> {
    let mut stmt =
        conn.prepare_cached("SELECT model, dimensions, generation FROM memory_index WHERE id = 1")?;
    let mut rows = stmt.query([])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    Ok(Some(IndexMeta {
        model: r.get(0)?,
        dims: usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        generation: r.get(2)?,
    }))
}

/// The index's metadata, failing loudly when it was never built or was
/// built by another embedder.
pub fn check_index(conn: &Connection, model: &str, dims: usize) -> Result<IndexMeta, MemoryError> {
    match index_meta(conn)? {
        None => Err(MemoryError::IndexNotBuilt),
        Some(meta) if meta.model == model && meta.dims == dims => Ok(meta),
        Some(meta) => Err(MemoryError::EmbedderMismatch {
            index_model: meta.model,
            index_dims: meta.dims,
            model: model.to_string(),
            dims,
        }),
    }
}

/// What one committed transaction did to the vectors.
pub enum Change {
    /// Chunks removed (their ids) and added (id and vector), in that order:
    /// SQLite may reuse a removed chunk's id for an added one.
    Chunks {
        removed: Vec<i64>,
        added: Vec<(i64, Vec<f32>)>,
    },
    /// Everything replaced (`reindex`): the copy is dropped and reloaded by
    /// the next search.
    Rebuilt,
}

struct Loaded {
    generation: i64,
    index: ExactIndex,
}

#[derive(Default)]
pub struct VectorCache {
    state: RwLock<Option<Loaded>>,
    /// Full loads from the database so far: lets tests tell an incremental
    /// update from a reload.
    loads: AtomicU64,
}

fn vector_error(e: ExactIndexError) -> MemoryError {
    MemoryError::Store(StoreError::Database(format!("vector index: {e}")))
}

impl VectorCache {
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// A panic while the lock was held may have left the copy half-updated:
    /// drop it, so the next search reloads from the database.
    fn write_state(&self) -> RwLockWriteGuard<'_, Option<Loaded>> {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if self.state.is_poisoned() {
            *state = None;
            self.state.clear_poison();
        }
        state
    }

    /// Opens a read transaction on `conn`, checks the index there, and
    /// returns it with the `k` chunk ids nearest to `query` (none without a
    /// query) as of that transaction's snapshot, and with what `alongside`
    /// returned: it runs on this thread, in the transaction, while the scan
    /// runs on another (hybrid search's full-text half, so the two halves
    /// use both cores).
    pub fn read_nearest<'c, R>(
        &self,
        conn: &'c Connection,
        model: &str,
        dims: usize,
        query: Option<&[f32]>,
        k: usize,
        alongside: impl FnOnce(&Transaction<'c>) -> Result<R, MemoryError>,
    ) -> Result<(Transaction<'c>, Vec<i64>, R), MemoryError> {
        let Some(query) = query else {
            // `unchecked_transaction` takes `&Connection`; nothing here nests.
            let tx = conn.unchecked_transaction()?;
            check_index(&tx, model, dims)?;
            let other = alongside(&tx)?;
            return Ok((tx, Vec::new(), other));
        };
        // Fast path: the copy matches the snapshot.
        if let Ok(state) = self.state.read() {
            let tx = conn.unchecked_transaction()?;
            let meta = check_index(&tx, model, dims)?;
            if let Some(loaded) = state.as_ref()
                && loaded.generation == meta.generation
                && loaded.index.dims() == dims
            {
                let (ids, other) = scan_alongside(&loaded.index, query, k, &tx, alongside)?;
                return Ok((tx, ids, other));
            }
        }
        // Slow path: reload under the write lock, from a snapshot taken
        // after it was acquired (so no commit of ours can fall in between,
        // and the copy cannot move back to an older generation).
        let mut state = self.write_state();
        let tx = conn.unchecked_transaction()?;
        let meta = check_index(&tx, model, dims)?;
        let current = state
            .as_ref()
            .is_some_and(|l| l.generation == meta.generation && l.index.dims() == dims);
        if !current {
            *state = None; // free the stale copy before building the new one
            let index = load(&tx, dims)?;
            self.loads.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                vectors = index.len(),
                mb = index.memory_bytes() / 1_000_000,
                generation = meta.generation,
                "memory vectors loaded"
            );
            *state = Some(Loaded {
                generation: meta.generation,
                index,
            });
        }
        let (ids, other) = match state.as_ref() {
            Some(loaded) => scan_alongside(&loaded.index, query, k, &tx, alongside)?,
            None => (Vec::new(), alongside(&tx)?),
        };
        Ok((tx, ids, other))
    }

    /// Bumps the generation inside `tx`, commits it, and applies `change` to
    /// the copy if the copy was current just before. The copy's write lock
    /// is held across the commit so that commits and copy updates of this
    /// process happen in the same order (see the module docs).
    pub fn commit(&self, tx: Transaction<'_>, change: Change) -> Result<(), MemoryError> {
        let generation: i64 = tx.query_row(
            "UPDATE memory_index SET generation = generation + 1 WHERE id = 1 RETURNING generation",
            [],
            |r| r.get(0),
        )?;
        let mut state = self.write_state();
        tx.commit()?;
        let Some(loaded) = state.as_mut() else {
            return Ok(()); // never loaded: the first search loads
        };
        if loaded.generation != generation - 1 {
            // Another process wrote since the copy was loaded; the next
            // search reloads it anyway.
            return Ok(());
        }
        match change {
            Change::Rebuilt => *state = None,
            Change::Chunks { removed, added } => {
                for id in removed {
                    loaded.index.remove(id);
                }
                let mut applied = Ok(());
                for (id, v) in &added {
                    applied = applied.and_then(|()| loaded.index.insert(*id, v));
                }
                match applied {
                    Ok(()) => loaded.generation = generation,
                    // The store checked the dimensions already; should this
                    // still fail, the copy is dropped and reloaded.
                    Err(e) => {
                        tracing::warn!(error = %e, "memory vectors: dropping the in-memory copy");
                        *state = None;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The scan on a scoped thread while `alongside` runs on this one (the
/// connection is not `Sync`, so the SQL stays here). Should no thread be
/// available, the two run one after the other instead.
fn scan_alongside<'c, R>(
    index: &ExactIndex,
    query: &[f32],
    k: usize,
    tx: &Transaction<'c>,
    alongside: impl FnOnce(&Transaction<'c>) -> Result<R, MemoryError>,
) -> Result<(Vec<i64>, R), MemoryError> {
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("memory-scan".into())
            .spawn_scoped(s, || nearest(index, query, k));
        match spawned {
            Ok(scan) => {
                let other = alongside(tx);
                let ids = scan.join().map_err(|_| {
                    MemoryError::Store(StoreError::Worker("the vector scan panicked".into()))
                })??;
                Ok((ids, other?))
            }
            Err(e) => {
                tracing::debug!(error = %e, "memory vectors: no thread for the scan");
                let ids = nearest(index, query, k)?;
                Ok((ids, alongside(tx)?))
            }
        }
    })
}

fn nearest(index: &ExactIndex, query: &[f32], k: usize) -> Result<Vec<i64>, MemoryError> {
    Ok(index
        .search(query, k)
        .map_err(vector_error)?
        .into_iter()
        .map(|n| n.id)
        .collect())
}

/// Every stored vector, read from `memory_vec` within `conn`'s snapshot.
fn load(conn: &Connection, dims: usize) -> Result<ExactIndex, MemoryError> {
    // Chunks and vectors are written together (tests/crash.rs checks it),
    // so the chunk count sizes the copy without a scan of `memory_vec`.
    let chunks: i64 = conn.query_row("SELECT count(*) FROM memory_chunks", [], |r| r.get(0))?;
    let mut index = ExactIndex::with_capacity(dims, usize::try_from(chunks).unwrap_or(0));
    let mut stmt = conn.prepare("SELECT chunk_id, embedding FROM memory_vec")?;
    let mut rows = stmt.query([])?;
    let mut vector = vec![0f32; dims];
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let blob = match r.get_ref(1)? {
            ValueRef::Blob(b) if b.len() == dims * size_of::<f32>() => b,
            other => {
                return Err(MemoryError::Store(StoreError::Database(format!(
                    "memory_vec row {id} is not {dims} floats ({:?}, {} bytes)",
                    other.data_type(),
                    other.as_bytes().map_or(0, <[u8]>::len)
                ))));
            }
        };
        for (x, bytes) in vector.iter_mut().zip(blob.chunks_exact(size_of::<f32>())) {
            let mut b = [0u8; 4];
            b.copy_from_slice(bytes);
            *x = f32::from_le_bytes(b);
        }
        index.insert(id, &vector).map_err(vector_error)?;
    }
    Ok(index)
}
