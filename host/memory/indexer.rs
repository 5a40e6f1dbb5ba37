//! What every backend does the same before touching its tables: chunk and
//! embed a document, embed a query, and pick a query's search words.

use std::sync::Arc;

use super::chunker::{self, Chunk, ChunkConfig};
use super::embedder::{EmbedError, Embedder};
use super::workspace::MemoryError;

/// Candidates taken from each list before fusion, per result asked for.
pub const CANDIDATES_PER_RESULT: usize = 4;
pub const MIN_CANDIDATES: usize = 20;
/// Most results one search returns.
pub const MAX_RESULTS: usize = 100;

/// A document cut into chunks, each with its vector.
pub struct Prepared {
    pub content: String,
    pub hash: String,
    pub chunks: Vec<Chunk>,
    pub vectors: Vec<Vec<f32>>,
}

#[derive(Clone)]
pub struct Indexer {
    embedder: Arc<dyn Embedder>,
    chunking: ChunkConfig,
}

impl Indexer {
    pub fn new(embedder: Arc<dyn Embedder>) -> Indexer {
        Indexer {
            embedder,
            chunking: ChunkConfig::default(),
        }
    }

    pub fn model(&self) -> &str {
        self.embedder.model()
    }

    pub fn dimensions(&self) -> usize {
        self.embedder.dimensions()
    }

    /// Embeds `texts`, checking the embedder kept its promises (one vector
    /// per text, each of its stated length): a wrong answer must never reach
    /// the index.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, MemoryError> {
        let vectors = self.embedder.embed(texts)?;
        let dims = self.embedder.dimensions();
        if vectors.len() != texts.len() {
            return Err(EmbedError::CountMismatch {
                expected: texts.len(),
                got: vectors.len(),
            }
            .into());
        }
        if let Some(v) = vectors.iter().find(|v| v.len() != dims) {
            return Err(EmbedError::DimensionMismatch {
                expected: dims,
                got: v.len(),
            }
            .into());
        }
        Ok(vectors)
    }

    /// Chunks and embeds on the CPU-bound path (never on an async worker).
    pub fn prepare(&self, content: &str) -> Result<Prepared, MemoryError> {
        crate::cpu::run_cpu_bound(|| {
            let chunks = chunker::chunk(content, &self.chunking);
            let texts: Vec<String> = chunks.iter().map(|c| c.text.clone()).collect();
            let vectors = if texts.is_empty() {
                Vec::new()
            } else {
                self.embed(&texts)?
            };
            Ok(Prepared {
                content: content.to_string(),
                hash: content_hash(content),
                chunks,
                vectors,
            })
        })
    }

    /// The query's vector, or `None` when it has no direction (no words the
    /// embedder knows), in which case only full-text search runs.
    pub fn embed_query(&self, query: &str) -> Result<Option<Vec<f32>>, MemoryError> {
        let vector = self.embed(&[query.to_string()])?.pop().unwrap_or_default();
        Ok(vector.iter().any(|x| *x != 0.0).then_some(vector))
    }
}

pub fn content_hash(content: &str) -> String {
    blake3::hash(content.as_bytes()).to_hex().to_string()
}

/// How many candidates each list contributes for `limit` results.
pub fn candidates(limit: usize) -> usize {
    (limit * CANDIDATES_PER_RESULT).max(MIN_CANDIDATES)
}

/// Words too common to rank by ("to" matches nearly every document).
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "how", "i", "in",
    "is", "it", "me", "my", "of", "on", "or", "the", "to", "was", "what", "when", "where", "which",
    "who", "why", "with", "you",
];

/// The query's words, lowercased, alphanumeric only (so no backend ever
/// sees full-text query syntax from a user). Stopwords are dropped unless
/// the query has nothing else.
pub fn search_terms(query: &str) -> Vec<String> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let content: Vec<String> = words
        .iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    if content.is_empty() { words } else { content }
}

/// One fused result: a chunk id with its RRF score and its 1-based ranks
/// in the full-text and vector lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub chunk_id: i64,
    pub score: f64,
    pub text_rank: Option<usize>,
    pub vector_rank: Option<usize>,
}

/// Reciprocal rank fusion (k = 60) of the two candidate lists.
pub fn fuse(text_ids: &[i64], vector_ids: &[i64], limit: usize) -> Vec<Fused> {
    let rank = |list: &[i64], id: i64| list.iter().position(|x| *x == id).map(|p| p + 1);
    super::rrf::fuse(
        &[text_ids.to_vec(), vector_ids.to_vec()],
        super::rrf::DEFAULT_K,
    )
    .into_iter()
    .take(limit)
    .map(|(chunk_id, score)| Fused {
        chunk_id,
        score,
        text_rank: rank(text_ids, chunk_id),
        vector_rank: rank(vector_ids, chunk_id),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_plain_words_without_stopwords() {
        assert_eq!(search_terms("What's \"NEAR\"(x)?"), ["s", "near", "x"]);
        assert_eq!(search_terms("to be or"), ["to", "be", "or"]);
        assert!(search_terms("?!").is_empty());
    }
}
