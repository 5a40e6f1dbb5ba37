//! The multi-needle search behind the exact-value scan, and the pattern
//! anchors looked for in the same pass.
//!
//! An automaton walk costs a dependent table load per input byte, several
//! cycles each however few states the input visits. Here each position is
//! looked at on its own instead, in two steps. First a gate: one bit per
//! possible pair of bytes, set for the first two bytes of every needle (and
//! of every anchor while anchors are looked for); almost every position of
//! ordinary text stops at that one load. Where the gate is open, the four
//! bytes starting there are hashed into a bit filter that holds the first
//! four bytes of every needle; only where the filter says "maybe" (about
//! one position in 200 for 50 stored secrets) are the needles with exactly
//! those four bytes compared. The positions do not depend on each other,
//! so the processor overlaps them, and no needle is missed: a needle
//! starting at a position has its first two and four bytes there, so both
//! its bits are set.
//!
//! The result is the same as a leftmost-longest Aho-Corasick search
//! restarted one byte after each match: for every start position with a
//! needle, in order, the longest needle starting there (equal needles: the
//! first one given). `tests` checks that against aho-corasick.
//!
//! Pattern anchors (see `patterns::anchors`) are found the same way with an
//! exact table of their first two bytes, until the first one is found.

use zeroize::Zeroizing;

/// Every needle is at least this long (the filter reads four bytes).
pub(super) const MIN_NEEDLE: usize = 4;

/// The golden-ratio multiplier: spreads four bytes over the filter.
const HASH: u32 = 0x9E37_79B1;

pub(super) struct Needles {
    /// One bit per pair of bytes that starts a needle; the same or'ed with
    /// `pairs`, for while anchors are looked for.
    gate_needles: Vec<u64>,
    gate_all: Vec<u64>,
    /// One bit per `slot` of a needle's first four bytes.
    filter: Vec<u64>,
    /// `32 - log2(filter bits)`.
    shift: u32,
    /// The needles' first four bytes, sorted; `needles` in the same order
    /// (longest first among equal prefixes, then as given).
    prefixes: Vec<u32>,
    needles: Vec<(Zeroizing<Vec<u8>>, usize)>,
    /// One bit per anchor's first two bytes, and the anchors sorted by
    /// those two bytes.
    pairs: Vec<u64>,
    anchor_keys: Vec<u16>,
    anchors: Vec<Vec<u8>>,
    /// An anchor shorter than two bytes: every input counts as anchored.
    always_anchored: bool,
}

fn prefix(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?))
}

#[inline(always)]
fn bit(set: &[u64], i: usize) -> bool {
    set[i >> 6] & (1 << (i & 63)) != 0
}

fn set_bit(set: &mut [u64], i: usize) {
    set[i >> 6] |= 1 << (i & 63);
}

impl Needles {
    /// `needles` with the caller's id for each; needles shorter than
    /// [`MIN_NEEDLE`] bytes are not accepted (the caller never has any).
    pub fn new(needles: Vec<(Zeroizing<Vec<u8>>, usize)>, anchors: Vec<Vec<u8>>) -> Needles {
        let mut needles: Vec<(u32, usize, Zeroizing<Vec<u8>>, usize)> = needles
            .into_iter()
            .enumerate()
            .filter_map(|(order, (n, id))| Some((prefix(&n)?, order, n, id)))
            .collect();
        needles.sort_by(|a, b| {
            (a.0, std::cmp::Reverse(a.2.len()), a.1).cmp(&(b.0, std::cmp::Reverse(b.2.len()), b.1))
        });
        // About 128 filter bits per needle (under 1 % false "maybe"), 2^16
        // to 2^22 bits.
        let bits = (needles.len() * 128)
            .next_power_of_two()
            .clamp(1 << 16, 1 << 22);
        let shift = 32 - bits.trailing_zeros();
        let mut filter = vec![0u64; bits / 64];
        let mut gate_needles = vec![0u64; (1 << 16) / 64];
        for (p, ..) in &needles {
            set_bit(&mut filter, slot(*p, shift));
            set_bit(&mut gate_needles, (*p & 0xffff) as usize);
        }
        let always_anchored = anchors.iter().any(|a| a.len() < 2);
        let mut anchors: Vec<(u16, Vec<u8>)> = anchors
            .into_iter()
            .filter(|a| a.len() >= 2)
            .map(|a| (u16::from_le_bytes([a[0], a[1]]), a))
            .collect();
        anchors.sort();
        let mut pairs = vec![0u64; (1 << 16) / 64];
        for (key, _) in &anchors {
            set_bit(&mut pairs, usize::from(*key));
        }
        let gate_all = gate_needles
            .iter()
            .zip(&pairs)
            .map(|(n, a)| n | a)
            .collect();
        let (anchor_keys, anchors) = anchors.into_iter().unzip();
        let (prefixes, needles) = needles
            .into_iter()
            .map(|(p, _, n, id)| (p, (n, id)))
            .unzip();
        Needles {
            gate_needles,
            gate_all,
            filter,
            shift,
            prefixes,
            needles,
            pairs,
            anchor_keys,
            anchors,
            always_anchored,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// Calls `found(start, id, len)` for the longest needle at each start
    /// position that has one, in order, until it returns `false`. Returns
    /// whether an anchor occurs in `hay` when `anchors` is set (always
    /// `false` otherwise, and not meaningful once `found` stopped early).
    pub fn search(
        &self,
        hay: &[u8],
        anchors: bool,
        mut found: impl FnMut(usize, usize, usize) -> bool,
    ) -> bool {
        let mut anchored = anchors && self.always_anchored;
        let mut look = anchors && !anchored && !self.anchors.is_empty();
        // Positions where a needle fits (every needle is MIN_NEEDLE bytes
        // or more, so every one with a needle is a four-byte window).
        let windows = if self.needles.is_empty() {
            0
        } else {
            (hay.len() + 1).saturating_sub(MIN_NEEDLE)
        };
        if windows == 0 && !look {
            return anchored;
        }
        let shift = self.shift;
        let mut gate = if look {
            &self.gate_all
        } else {
            &self.gate_needles
        };
        for (i, w) in hay.windows(2).enumerate() {
            let pair = u16::from_le_bytes([w[0], w[1]]);
            if !bit(gate, usize::from(pair)) {
                continue;
            }
            // `i < windows`: four bytes are left, so a needle fits.
            if let Some(&[a, b, c, d]) = hay.get(i..i + MIN_NEEDLE).filter(|_| i < windows) {
                let four = u32::from_le_bytes([a, b, c, d]);
                if bit(&self.filter, slot(four, shift))
                    && let Some((id, len)) = self.longest_at(&hay[i..], four)
                    && !found(i, id, len)
                {
                    return anchored;
                }
            }
            if look && bit(&self.pairs, usize::from(pair)) && self.anchor_at(&hay[i..], pair) {
                anchored = true;
                look = false;
                gate = &self.gate_needles;
                if windows == 0 {
                    break;
                }
            }
        }
        anchored
    }

    /// The longest needle `rest` starts with, among those whose first four
    /// bytes are `four`. Out of line: the search loop stays small.
    #[inline(never)]
    fn longest_at(&self, rest: &[u8], four: u32) -> Option<(usize, usize)> {
        let from = self.prefixes.partition_point(|&p| p < four);
        let same = self.prefixes[from..].iter().take_while(|&&p| p == four);
        same.zip(&self.needles[from..])
            .find(|(_, (needle, _))| rest.starts_with(needle))
            .map(|(_, (needle, id))| (*id, needle.len()))
    }

    /// Whether `rest` starts with an anchor whose first two bytes are
    /// `pair`.
    #[inline(never)]
    fn anchor_at(&self, rest: &[u8], pair: u16) -> bool {
        let from = self.anchor_keys.partition_point(|&k| k < pair);
        let same = self.anchor_keys[from..].iter().take_while(|&&k| k == pair);
        same.zip(&self.anchors[from..])
            .any(|(_, anchor)| rest.starts_with(anchor))
    }
}

#[inline(always)]
fn slot(four: u32, shift: u32) -> usize {
    (four.wrapping_mul(HASH) >> shift) as usize
}

#[cfg(test)]
mod tests {
    use aho_corasick::{AhoCorasick, Input, MatchKind};

    use super::*;

    /// The reference: leftmost-longest Aho-Corasick, restarted one byte
    /// after each match's start.
    fn reference(needles: &[&[u8]], hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(needles)
            .unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(m) = ac.find(Input::new(hay).span(at..hay.len())) {
            out.push((m.start(), m.pattern().as_usize(), m.len()));
            at = m.start() + 1;
        }
        out
    }

    fn ours(needles: &[&[u8]], hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let index = Needles::new(
            needles
                .iter()
                .enumerate()
                .map(|(i, n)| (Zeroizing::new(n.to_vec()), i))
                .collect(),
            Vec::new(),
        );
        let mut out = Vec::new();
        index.search(hay, false, |start, id, len| {
            out.push((start, id, len));
            true
        });
        out
    }

    /// SplitMix64.
    fn rng(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn agrees_with_leftmost_longest_aho_corasick() {
        let mut state = 7;
        for round in 0..400 {
            // A small alphabet so that needles overlap, share prefixes,
            // repeat and nest.
            let alphabet = if round % 2 == 0 { &b"ab"[..] } else { b"abcd-" };
            let pick = |len: usize, state: &mut u64| -> Vec<u8> {
                (0..len)
                    .map(|_| alphabet[(rng(state) % alphabet.len() as u64) as usize])
                    .collect()
            };
            let count = 1 + (rng(&mut state) % 12) as usize;
            let needles: Vec<Vec<u8>> = (0..count)
                .map(|_| {
                    let len = MIN_NEEDLE + (rng(&mut state) % 6) as usize;
                    pick(len, &mut state)
                })
                .collect();
            let hay_len = (rng(&mut state) % 300) as usize;
            let mut hay = pick(hay_len, &mut state);
            // Plant some needles whole.
            for n in needles.iter().take(3) {
                let at = (rng(&mut state) as usize) % (hay.len() + 1);
                hay.splice(at..at, n.iter().copied());
            }
            let refs: Vec<&[u8]> = needles.iter().map(Vec::as_slice).collect();
            assert_eq!(ours(&refs, &hay), reference(&refs, &hay), "round {round}");
        }
    }

    #[test]
    fn anchors_are_found_anywhere_including_the_last_bytes() {
        let index = Needles::new(
            vec![(Zeroizing::new(b"needle-one".to_vec()), 0)],
            vec![b"SK".to_vec(), b"://".to_vec(), b"ghp_".to_vec()],
        );
        let anchored = |hay: &[u8]| index.search(hay, true, |_, _, _| true);
        assert!(anchored(b"SK"));
        assert!(anchored(b"xxxxxxxSK"));
        assert!(anchored(b"http://x"));
        assert!(anchored(b"needle-one ghp_"));
        assert!(!anchored(b"S"));
        assert!(!anchored(b"sk gh_p :/ needle-one"));
        assert!(!index.search(b"SK", false, |_, _, _| true), "not asked");
        let always = Needles::new(Vec::new(), vec![b"x".to_vec()]);
        assert!(always.search(b"", true, |_, _, _| true));
    }

    #[test]
    fn short_needles_are_left_out_and_short_input_is_fine() {
        let index = Needles::new(vec![(Zeroizing::new(b"abc".to_vec()), 0)], Vec::new());
        assert!(index.is_empty());
        let index = Needles::new(vec![(Zeroizing::new(b"abcd".to_vec()), 0)], Vec::new());
        for hay in [&b""[..], b"a", b"abc"] {
            assert!(!index.search(hay, true, |_, _, _| false));
        }
        let mut hits = 0;
        index.search(b"abcd", false, |_, _, _| {
            hits += 1;
            true
        });
        assert_eq!(hits, 1);
    }
}
