//! Reciprocal rank fusion (Cormack, Clarke & Büttcher, 2009).
//!
//! Hybrid search gets one ranking from full-text search (BM25-like scores)
//! and one from vector search (cosine similarities). Those scores live on
//! unrelated scales, so instead of normalising them we fuse by *rank*: an
//! item scores Σ 1 / (k + rank) over the lists it appears in. The constant
//! `k` damps the head of each list so one list's top hit cannot drown out
//! agreement between lists; 60 is the value from the paper and works well
//! without tuning.

use std::collections::HashMap;
use std::hash::Hash;

/// The `k` from the original paper.
pub const DEFAULT_K: f64 = 60.0;

/// Per-item bookkeeping while fusing.
struct Entry<K> {
    key: K,
    /// 1-based ranks, one per list the item appears in.
    ranks: Vec<usize>,
}

/// Fuse best-first `rankings` into one list of `(item, score)`, best first.
///
/// Score = Σ 1 / (k + rank), rank starting at 1. Within one list only an
/// item's first (best) occurrence counts, so a duplicated hit cannot vote
/// twice. Ties are broken by the best rank the item reached in any list,
/// then by first appearance (scanning list 0 top to bottom, then list 1, …),
/// so the output is fully deterministic. Contributions are summed in rank
/// order, so items with the same ranks in different lists get bit-identical
/// scores and really do tie. A `k` that is negative or not finite is
/// replaced by [`DEFAULT_K`], since it could make a score infinite or
/// negative.
pub fn fuse<K: Clone + Eq + Hash>(rankings: &[Vec<K>], k: f64) -> Vec<(K, f64)> {
    let k = if k.is_finite() && k >= 0.0 {
        k
    } else {
        DEFAULT_K
    };
    let mut index: HashMap<&K, usize> = HashMap::new();
    let mut entries: Vec<Entry<K>> = Vec::new();
    for list in rankings {
        let mut seen_here: HashMap<&K, ()> = HashMap::new();
        for (pos, key) in list.iter().enumerate() {
            if seen_here.insert(key, ()).is_some() {
                continue;
            }
            let slot = *index.entry(key).or_insert_with(|| {
                entries.push(Entry {
                    key: key.clone(),
                    ranks: Vec::new(),
                });
                entries.len() - 1
            });
            entries[slot].ranks.push(pos + 1);
        }
    }
    let mut scored: Vec<(f64, usize, usize, K)> = entries
        .into_iter()
        .enumerate()
        .map(|(first_seen, mut e)| {
            e.ranks.sort_unstable();
            let score = e.ranks.iter().map(|r| 1.0 / (k + *r as f64)).sum();
            (score, e.ranks[0], first_seen, e.key)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    scored
        .into_iter()
        .map(|(score, _, _, key)| (key, score))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn hand_computed_example() {
        // Full-text: a, b, c.  Vector: a, c, d.
        let lists = vec![vec!["a", "b", "c"], vec!["a", "c", "d"]];
        let fused = fuse(&lists, DEFAULT_K);
        let keys: Vec<&str> = fused.iter().map(|(key, _)| *key).collect();
        assert_eq!(keys, ["a", "c", "b", "d"]);
        assert!(close(fused[0].1, 2.0 / 61.0)); // a: 1/61 + 1/61
        assert!(close(fused[1].1, 1.0 / 63.0 + 1.0 / 62.0)); // c: ranks 3 and 2
        assert!(close(fused[2].1, 1.0 / 62.0)); // b: rank 2
        assert!(close(fused[3].1, 1.0 / 63.0)); // d: rank 3
    }

    #[test]
    fn ties_use_best_rank_then_first_appearance() {
        // x: ranks 1 and 3; y: ranks 3 and 1 -> exact tie, best rank 1 both,
        // x seen first.  p (rank 2 in list 0) and q (rank 2 in list 1) tie
        // with best rank 2; p seen first.
        let lists = vec![vec!["x", "p", "y"], vec!["y", "q", "x"]];
        let fused = fuse(&lists, DEFAULT_K);
        let keys: Vec<&str> = fused.iter().map(|(key, _)| *key).collect();
        assert_eq!(keys, ["x", "y", "p", "q"]);
        assert_eq!(fused[0].1, fused[1].1);
        assert!(close(fused[0].1, 1.0 / 61.0 + 1.0 / 63.0));
        // Same multiset of ranks across three lists gives bit-identical scores.
        let lists = vec![vec![1, 2, 3], vec![2, 3, 1], vec![3, 1, 2]];
        let fused = fuse(&lists, DEFAULT_K);
        assert!(fused.iter().all(|(_, s)| *s == fused[0].1));
        assert_eq!(
            fused.iter().map(|(key, _)| *key).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn best_rank_outranks_first_appearance() {
        // k = 0: a has ranks 2 and 2 (1/2 + 1/2 = 1), b and q rank 1 once
        // (1/1 = 1): an exact three-way tie. a is seen before q but its best
        // rank is worse, so it comes last; b before q by first appearance.
        let lists = vec![vec!["b", "a"], vec!["q", "a"]];
        let fused = fuse(&lists, 0.0);
        assert_eq!(fused, [("b", 1.0), ("q", 1.0), ("a", 1.0)]);
    }

    #[test]
    fn duplicates_and_edges() {
        let lists = vec![vec!["a", "a", "b"]];
        let fused = fuse(&lists, DEFAULT_K);
        assert_eq!(fused.len(), 2);
        assert!(close(fused[0].1, 1.0 / 61.0));
        assert!(close(fused[1].1, 1.0 / 63.0), "b keeps its position rank");
        assert!(fuse::<u32>(&[], DEFAULT_K).is_empty());
        assert!(fuse::<u32>(&[vec![], vec![]], DEFAULT_K).is_empty());
        let bad = fuse(&[vec![7]], f64::NAN);
        assert!(close(bad[0].1, 1.0 / 61.0));
        assert!(close(fuse(&[vec![7]], -5.0)[0].1, 1.0 / 61.0));
    }
}
