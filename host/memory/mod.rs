//! Workspace memory: path-addressed markdown documents with hybrid search.
//!
//! Documents are cut into overlapping chunks ([`chunker`]), chunks and
//! queries become vectors ([`embedder`]), and the full-text and vector result
//! lists merge into one ranking ([`rrf`]). [`exact`] is an exact in-memory
//! vector search for backends without a fast one of their own.
//! [`workspace`] is the storage contract each backend implements;
//! [`identity`] seeds a new workspace.

pub mod chunker;
pub mod embedder;
pub mod exact;
pub mod identity;
pub mod indexer;
pub mod rrf;
pub mod workspace;

pub use workspace::{Document, MemoryError, MemoryStore, SearchHit, WriteOutcome};
