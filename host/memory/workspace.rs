//! The workspace memory contract: path-addressed documents and hybrid search
//! (DESIGN §7), as a narrow storage trait each backend implements.

use serde::Serialize;

use super::embedder::EmbedError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub path: String,
    pub content: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub path: String,
    /// The matching chunk.
    pub snippet: String,
    pub heading: Option<String>,
    /// Reciprocal-rank-fusion score; higher is better.
    pub score: f64,
    /// 1-based rank in the full-text and vector lists, when present there.
    pub text_rank: Option<usize>,
    pub vector_rank: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteOutcome {
    Created,
    Updated,
    /// Same content as stored: nothing re-chunked or re-embedded.
    Unchanged,
}

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("invalid path `{path}`: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error(
        "the vector index was never built (no document has been written); \
         write a document or run `ironclaw memory reindex` first"
    )]
    IndexNotBuilt,
    #[error(
        "the vector index was built by `{index_model}` with {index_dims} dimensions, but the embedder \
         is `{model}` with {dims}; run `ironclaw memory reindex`"
    )]
    EmbedderMismatch {
        index_model: String,
        index_dims: usize,
        model: String,
        dims: usize,
    },
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<rusqlite::Error> for MemoryError {
    fn from(e: rusqlite::Error) -> Self {
        MemoryError::Store(e.into())
    }
}

#[async_trait::async_trait]
pub trait MemoryStore: Send + Sync {
    /// Where the documents live, for people (never a password).
    fn location(&self) -> String;
    async fn write(&self, path: &str, content: &str) -> Result<WriteOutcome, MemoryError>;
    async fn read(&self, path: &str) -> Result<Option<Document>, MemoryError>;
    async fn delete(&self, path: &str) -> Result<bool, MemoryError>;
    /// Paths under `prefix`, sorted.
    async fn tree(&self, prefix: &str) -> Result<Vec<String>, MemoryError>;
    async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, MemoryError>;
    /// Re-chunks and re-embeds every document with the current embedder.
    async fn reindex(&self) -> Result<usize, MemoryError>;
}

/// `notes/2026/plan.md`: relative, `/`-separated, no `.`/`..`/empty segments,
/// no control characters, at most 512 bytes.
pub fn validate_path(path: &str) -> Result<(), MemoryError> {
    let invalid = |reason| MemoryError::InvalidPath {
        path: path.chars().take(100).collect(),
        reason,
    };
    if path.is_empty() {
        return Err(invalid("empty"));
    }
    if path.len() > 512 {
        return Err(invalid("longer than 512 bytes"));
    }
    if path.starts_with('/') {
        return Err(invalid("must be relative (no leading '/')"));
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(invalid("contains a control character or backslash"));
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(invalid("has an empty, '.' or '..' segment"));
    }
    Ok(())
}

/// A prefix for `tree`: empty, or a valid path optionally ending in '/'.
pub fn validate_prefix(prefix: &str) -> Result<(), MemoryError> {
    match prefix.strip_suffix('/') {
        _ if prefix.is_empty() => Ok(()),
        Some(dir) => validate_path(dir),
        None => validate_path(prefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_and_clean() {
        for ok in ["README.md", "daily/2026-11-21.md", "notes/é/x"] {
            assert!(validate_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "a//b",
            "./a",
            "a/",
            "a\\b",
            "a\nb",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?}");
        }
        assert!(validate_prefix("").is_ok());
        assert!(validate_prefix("daily/").is_ok());
        assert!(validate_prefix("../").is_err());
    }
}
