//! Turning text into vectors for memory search.
//!
//! [`Embedder`] is the seam: the store only needs fixed-length vectors and a
//! model name (to know when stored vectors are stale). [`LocalEmbedder`] is
//! the always-available default — no network, no model weights, fully
//! deterministic — so memory search works offline and in tests.
//!
//! Honest quality note: `LocalEmbedder` is feature hashing, not a language
//! model. It captures *lexical and morphological* overlap — shared words,
//! plural/tense variants, shared word pairs and spelling fragments — so it
//! ranks "the cats were sitting" near "a cat sat". It does not capture
//! meaning: synonyms or paraphrases with no shared words ("car" vs
//! "automobile") score near zero. A real embedding model reached through the
//! llm capability provides that, and will plug in behind the same trait.

use std::collections::BTreeMap;

/// Dimensions of [`LocalEmbedder::default`].
pub const DEFAULT_DIMENSIONS: usize = 384;

/// Model name of [`LocalEmbedder`]; change it whenever its output changes,
/// so stored vectors are recomputed rather than mixed.
pub const LOCAL_MODEL: &str = "local-hash-v1";

/// blake3 key-derivation context: separates these feature hashes from any
/// other use of blake3 in the host, and pins the bucket layout to this model.
const HASH_CONTEXT: &str = "ironclaw memory local-hash-v1 feature hashing";

/// Weights per feature kind: whole (stemmed) words carry the most signal,
/// word pairs add phrase/order information, character trigrams only rescue
/// variants the tiny stemmer misses, so they count least.
const WORD_WEIGHT: f32 = 1.0;
const BIGRAM_WEIGHT: f32 = 0.5;
const TRIGRAM_WEIGHT: f32 = 0.3;

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A vector's length differs from what the index was built with.
    #[error("embedding has {got} dimensions, expected {expected}")]
    DimensionMismatch { expected: usize, got: usize },
    /// A backend returned a different number of vectors than texts.
    #[error("embedder returned {got} vectors for {expected} texts")]
    CountMismatch { expected: usize, got: usize },
    /// The backend (e.g. a remote model) failed.
    #[error("embedding backend failed: {0}")]
    Backend(String),
}

/// Something that maps texts to fixed-length vectors.
///
/// Synchronous on purpose: the local embedder is pure CPU work; an async,
/// model-backed embedder will wrap or adapt this at the call site.
pub trait Embedder: Send + Sync {
    /// Length of every vector returned by [`Embedder::embed`].
    fn dimensions(&self) -> usize;
    /// Stable model identifier, stored next to vectors.
    fn model(&self) -> &str;
    /// One vector per input text, in order.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Deterministic feature-hashing embedder (model [`LOCAL_MODEL`]).
///
/// Per text: lowercase; split into words (runs of Unicode alphanumerics);
/// strip a few suffixes (see [`stem`]); collect stemmed unigrams, stemmed
/// bigrams and character trigrams of each unstemmed word with `<`/`>`
/// boundary markers. Each distinct feature is hashed with keyed blake3 into a
/// bucket plus a sign (signs make collisions cancel on average instead of
/// piling up), weighted by kind × (1 + ln tf) so repetition helps but does
/// not dominate, and the vector is L2-normalised, making dot product equal
/// to cosine. Text with no words gives the all-zero vector: it has no
/// direction, and [`cosine`] scores it 0 against everything.
#[derive(Debug, Clone)]
pub struct LocalEmbedder {
    dims: usize,
}

impl LocalEmbedder {
    /// An embedder producing `dims`-long vectors (at least 1).
    pub fn new(dims: usize) -> Self {
        Self { dims: dims.max(1) }
    }

    fn embed_one(&self, key: &[u8; 32], text: &str) -> Vec<f32> {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let stems: Vec<String> = words.iter().map(|w| stem(w)).collect();
        // BTreeMap, not HashMap: a fixed iteration order keeps the float sums,
        // and so the vectors, bit-for-bit reproducible.
        let mut counts: BTreeMap<(u8, String), u32> = BTreeMap::new();
        let mut add = |kind: u8, feature: String| *counts.entry((kind, feature)).or_insert(0) += 1;
        for s in &stems {
            add(b'w', s.clone());
        }
        for pair in stems.windows(2) {
            add(b'b', format!("{} {}", pair[0], pair[1]));
        }
        for w in &words {
            let marked: Vec<char> = format!("<{w}>").chars().collect();
            for tri in marked.windows(3) {
                add(b'c', tri.iter().collect());
            }
        }
        let mut v = vec![0.0f32; self.dims];
        for ((kind, feature), tf) in counts {
            let weight = match kind {
                b'w' => WORD_WEIGHT,
                b'b' => BIGRAM_WEIGHT,
                _ => TRIGRAM_WEIGHT,
            };
            let mut hasher = blake3::Hasher::new_keyed(key);
            hasher.update(&[kind, 0]);
            hasher.update(feature.as_bytes());
            let hash = hasher.finalize();
            let bytes = hash.as_bytes();
            let mut low = [0u8; 8];
            low.copy_from_slice(&bytes[..8]);
            let bucket = (u64::from_le_bytes(low) % self.dims as u64) as usize;
            let sign = if bytes[8] & 1 == 0 { 1.0 } else { -1.0 };
            v[bucket] += sign * weight * (1.0 + (tf as f32).ln());
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

impl Default for LocalEmbedder {
    fn default() -> Self {
        Self::new(DEFAULT_DIMENSIONS)
    }
}

impl Embedder for LocalEmbedder {
    fn dimensions(&self) -> usize {
        self.dims
    }

    fn model(&self) -> &str {
        LOCAL_MODEL
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let key = blake3::derive_key(HASH_CONTEXT, &[]);
        Ok(texts.iter().map(|t| self.embed_one(&key, t)).collect())
    }
}

/// A deliberately small suffix stripper (not Porter): enough to make
/// plurals and -ing/-ed forms meet their base word ("cats" → "cat",
/// "running" → "run", "making"/"makes" → "mak"). Stems need not be real
/// words, only consistent. Words of 3 chars or fewer, and words containing
/// digits or non-letters, are left alone.
fn stem(word: &str) -> String {
    if word.chars().count() <= 3 || !word.chars().all(char::is_alphabetic) {
        return word.to_string();
    }
    let mut w = if let Some(s) = word.strip_suffix("ies") {
        format!("{s}y")
    } else if let Some(s) = word.strip_suffix("sses") {
        format!("{s}ss")
    } else if let Some(s) = word.strip_suffix("es")
        && s.ends_with(['s', 'x', 'z', 'h'])
    {
        s.to_string()
    } else if let Some(s) = word.strip_suffix('s')
        && !s.ends_with(['s', 'u', 'i'])
    {
        s.to_string()
    } else {
        word.to_string()
    };
    let verb = w.strip_suffix("ing").or_else(|| w.strip_suffix("ed"));
    if let Some(s) = verb
        && s.chars().count() >= 3
        && s.contains(['a', 'e', 'i', 'o', 'u', 'y'])
    {
        let mut s = s.to_string();
        let mut tail = s.chars().rev();
        if let (Some(a), Some(b)) = (tail.next(), tail.next())
            && a == b
            && !"aeioulsz".contains(a)
        {
            s.pop();
        }
        w = s;
    }
    if w.ends_with('e') && w.chars().count() > 3 {
        w.pop();
    }
    w
}

/// Cosine similarity in `[-1, 1]`. Returns 0 when either vector is all
/// zeros (no direction) or the lengths differ (not comparable) — a
/// mismatch is a caller bug the store reports as
/// [`EmbedError::DimensionMismatch`], never a silent similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())).clamp(-1.0, 1.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embed(e: &LocalEmbedder, text: &str) -> Vec<f32> {
        let out = e.embed(&[text.to_string()]);
        out.ok().and_then(|mut v| v.pop()).unwrap_or_default()
    }

    fn sim(a: &str, b: &str) -> f32 {
        let e = LocalEmbedder::default();
        cosine(&embed(&e, a), &embed(&e, b))
    }

    #[test]
    fn deterministic_and_unit_length() {
        let texts = vec![
            "The quick brown fox.".to_string(),
            "Ünïcödé 日本語 text".to_string(),
        ];
        let a = LocalEmbedder::default().embed(&texts).unwrap();
        let b = LocalEmbedder::new(384).embed(&texts).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
        for v in &a {
            assert_eq!(v.len(), 384);
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        }
    }

    #[test]
    fn empty_text_is_zero_vector() {
        let e = LocalEmbedder::new(64);
        for text in ["", "  ", "?!—…"] {
            let v = embed(&e, text);
            assert_eq!(v.len(), 64);
            assert!(v.iter().all(|x| *x == 0.0));
            assert_eq!(cosine(&v, &embed(&e, "cat")), 0.0);
        }
        assert!(e.embed(&[]).unwrap().is_empty());
    }

    #[test]
    fn dims_and_model() {
        let small = LocalEmbedder::new(128);
        assert_eq!(small.dimensions(), 128);
        assert_eq!(embed(&small, "hello world").len(), 128);
        assert_eq!(embed(&LocalEmbedder::default(), "hello world").len(), 384);
        assert_eq!(LocalEmbedder::new(0).dimensions(), 1);
        assert_eq!(small.model(), "local-hash-v1");
    }

    #[test]
    fn morphology_and_overlap() {
        assert!(sim("cats", "cat") > 0.8, "cats/cat {}", sim("cats", "cat"));
        assert!(sim("running", "run") > 0.6, "{}", sim("running", "run"));
        let base = "The cat sat on the mat near the window";
        let para = "A cat was sitting on a mat by the window";
        let other = "Quarterly revenue grew strongly in Europe";
        assert!(sim(base, para) > sim(base, other) + 0.3);
        assert!(sim(base, other).abs() < 0.2);
        // The honest limit: synonyms with no shared words are not found.
        assert!(sim("car", "automobile") < 0.3);
    }

    #[test]
    fn stemmer_cases() {
        let cases = [
            ("cats", "cat"),
            ("boxes", "box"),
            ("classes", "class"),
            ("cities", "city"),
            ("running", "run"),
            ("stopped", "stop"),
            ("making", "mak"),
            ("makes", "mak"),
            ("status", "status"),
            ("string", "string"),
            ("falling", "fall"),
            ("need", "need"),
            ("api2s", "api2s"),
        ];
        for (word, want) in cases {
            assert_eq!(stem(word), want, "{word}");
        }
    }

    #[test]
    fn cosine_edges() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 3.0]), 0.0);
        assert!((cosine(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        let err = EmbedError::DimensionMismatch {
            expected: 384,
            got: 3,
        };
        assert_eq!(err.to_string(), "embedding has 3 dimensions, expected 384");
    }
}
