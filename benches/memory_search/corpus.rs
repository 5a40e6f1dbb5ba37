//! The deterministic corpus and queries of the memory search benchmark.

use super::*;

// ---------------------------------------------------------------- corpus ---

/// SplitMix64: small, seedable, good enough for text.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5eed_1234_abcd_ef01)
    }
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi`.
    pub(super) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo) as u64) as usize
    }
    /// Uniform in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Pseudo-words ranked by frequency (rank 0 most frequent), with a Zipf CDF.
pub(super) struct Vocab {
    words: Vec<String>,
    cdf: Vec<f64>,
}

impl Vocab {
    pub(super) fn new() -> Vocab {
        const ONSETS: &[&str] = &[
            "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "t", "v", "z", "br", "dr", "gr",
            "kr", "pl", "st", "tr", "ch", "sh", "th",
        ];
        const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ou"];
        let mut rng = Rng::new(1);
        let mut seen = std::collections::HashSet::new();
        let mut words = Vec::with_capacity(VOCABULARY);
        while words.len() < VOCABULARY {
            let syllables = rng.range(2, 5);
            let mut w = String::new();
            for _ in 0..syllables {
                w.push_str(ONSETS[rng.range(0, ONSETS.len())]);
                w.push_str(VOWELS[rng.range(0, VOWELS.len())]);
            }
            // Ending in a consonant sometimes, never in `s` (no plurals).
            if rng.range(0, 3) == 0 {
                w.push(['n', 'r', 'l', 'k', 't', 'm'][rng.range(0, 6)]);
            }
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let weights: Vec<f64> = (1..=VOCABULARY)
            .map(|r| 1.0 / (r as f64).powf(ZIPF_EXPONENT))
            .collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cdf = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Vocab { words, cdf }
    }

    pub(super) fn zipf_rank(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf
            .partition_point(|c| *c < u)
            .min(self.words.len() - 1)
    }

    pub(super) fn zipf(&self, rng: &mut Rng) -> &str {
        &self.words[self.zipf_rank(rng)]
    }
}

pub(super) fn sentence(vocab: &Vocab, rng: &mut Rng, out: &mut String) {
    let n = rng.range(6, 17);
    for i in 0..n {
        let word = if rng.range(0, 10) < 3 {
            FILLER[rng.range(0, FILLER.len())]
        } else {
            vocab.zipf(rng)
        };
        if i == 0 {
            let mut c = word.chars();
            if let Some(f) = c.next() {
                out.extend(f.to_uppercase());
                out.push_str(c.as_str());
            }
        } else {
            out.push(' ');
            out.push_str(word);
        }
    }
    out.push_str(". ");
}

pub(super) fn title(vocab: &Vocab, rng: &mut Rng, words: usize, out: &mut String) {
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(vocab.zipf(rng));
    }
}

/// Document `i`: a title, a short intro and [`SECTIONS`] sections that each
/// fit one chunk.
pub(super) fn document(vocab: &Vocab, i: usize) -> String {
    let mut rng = Rng::new(i as u64 + 1_000_000);
    let mut out = String::with_capacity(SECTIONS * 3000);
    out.push_str("# ");
    let n = rng.range(3, 6);
    title(vocab, &mut rng, n, &mut out);
    out.push_str("\n\n");
    sentence(vocab, &mut rng, &mut out);
    sentence(vocab, &mut rng, &mut out);
    out.push_str("\n\n");
    for _ in 0..SECTIONS {
        out.push_str("## ");
        let n = rng.range(2, 5);
        title(vocab, &mut rng, n, &mut out);
        out.push_str("\n\n");
        let target = out.len() + rng.range(2300, 2800);
        while out.len() < target {
            for _ in 0..rng.range(3, 7) {
                sentence(vocab, &mut rng, &mut out);
            }
            out.push_str("\n\n");
        }
    }
    out
}

pub(super) fn doc_path(i: usize) -> String {
    format!("bench/{:02}/doc-{i:05}.md", i % 100)
}

/// Documents needed for `chunks` chunks, and the chunk count they give.
pub(super) fn plan(vocab: &Vocab, chunks: usize) -> (usize, usize) {
    let config = ChunkConfig::default();
    let (mut docs, mut total) = (0, 0);
    while total < chunks {
        total += chunker::chunk(&document(vocab, docs), &config).len();
        docs += 1;
    }
    (docs, total)
}

pub(super) fn queries(vocab: &Vocab, n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let mut words = Vec::new();
            let common = loop {
                let r = vocab.zipf_rank(&mut rng);
                if r >= QUERY_MIN_RANK {
                    break r;
                }
            };
            words.push(vocab.words[common].as_str());
            for _ in 1..rng.range(2, 5) {
                words.push(&vocab.words[rng.range(QUERY_MIN_RANK, VOCABULARY)]);
            }
            words.join(" ")
        })
        .collect()
}
