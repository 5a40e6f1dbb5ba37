//! Exact-value matching: the owner's stored secrets and the canary, raw and
//! in the encodings a guest could use to smuggle them out.
//!
//! All needles (every value in every encoding) go into one index
//! (`needles.rs`) searched in one pass; at each position the longest needle
//! wins, so where one needle is a prefix of another (a base64 core and the
//! full padded encoding) the longer one is reported, as a leftmost-longest
//! Aho-Corasick automaton would.
//!
//! Encodings covered, per value:
//! - raw bytes;
//! - hex, lower and upper case;
//! - base64, standard and URL-safe alphabets, padded and unpadded. Base64
//!   maps 3 input bytes to 4 characters, so the characters that encode a
//!   value depend on where in the encoded stream it starts (its offset
//!   mod 3). For each of the three alignments the needle is the run of
//!   characters that depend only on the value's own bytes, so a secret is
//!   found inside a larger base64 blob (say, an encoded JSON body) wherever
//!   it sits. At the edges up to two characters (under 12 bits) can fall
//!   outside that run and stay unredacted;
//! - JSON string escaping (`\"`, `\\`, control characters, optionally
//!   `\/`), which any JSON body carrying a value with those bytes uses
//!   without the guest trying to hide anything;
//! - percent-encoding is not a needle: the input is percent-decoded instead
//!   (see `percent.rs`) and the decoded view searched, which catches any
//!   mix of encoded and plain bytes and either hex case.
//!
//! Not covered (documented limits): base64 wrapped across lines (MIME,
//! PEM), double percent-encoding, JSON `\u00XX` escapes of non-ASCII
//! bytes, compression, encryption, or any transformation the guest
//! invents. Exact-value scanning raises the bar; it cannot stop a
//! determined guest that holds a secret, which is why grants decide which
//! guests see which secrets.
//!
//! The index necessarily holds copies of the needles for as long as the
//! scanner lives (zeroized when it is dropped), as does every buffer this
//! module builds on the way.

use std::fmt;
use std::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use zeroize::{Zeroize, Zeroizing};

use super::Encoding;
use super::needles::{MIN_NEEDLE, Needles};

/// Values shorter than this would match all over ordinary data.
pub const MIN_SECRET_LEN: usize = 6;

// Every needle of a value this long is at least as long (hex doubles it,
// base64 cores of a 6-byte value are 7 characters), so none is too short
// for the index.
const _: () = assert!(MIN_SECRET_LEN >= MIN_NEEDLE);

/// A secret value while the scanner is being built. Zeroized on drop and
/// never printed.
pub(super) struct SecretValue(Vec<u8>);

impl SecretValue {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, byte: u8) -> bool {
        self.0.contains(&byte)
    }
}

impl Drop for SecretValue {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

/// Whose value a needle encodes: an index into the scanner's owner list.
pub(super) type OwnerId = usize;

pub(super) struct ExactHit {
    pub owner: OwnerId,
    pub encoding: Encoding,
    pub range: Range<usize>,
}

pub(super) struct Exact {
    /// Every value's needles, with the owner and encoding of each (by the
    /// id the index reports).
    index: Needles,
    needles: Vec<(OwnerId, Encoding)>,
}

impl Exact {
    /// The index of `values` (each at least [`MIN_SECRET_LEN`] bytes;
    /// shorter ones are skipped) and the pattern `anchors`.
    pub fn build(values: &[(OwnerId, SecretValue)], anchors: Vec<Vec<u8>>) -> Self {
        let mut patterns: Vec<(Zeroizing<Vec<u8>>, usize)> = Vec::new();
        let mut needles = Vec::new();
        for (owner, value) in values.iter().filter(|(_, v)| v.len() >= MIN_SECRET_LEN) {
            for (needle, encoding) in variants(&value.0) {
                patterns.push((needle, needles.len()));
                needles.push((*owner, encoding));
            }
        }
        Self {
            index: Needles::new(patterns, anchors),
            needles,
        }
    }

    #[cfg(test)]
    pub fn is_match(&self, hay: &[u8]) -> bool {
        self.is_match_or_anchored(hay, false).0
    }

    /// Whether a value occurs (stopping at the first), and, when `anchors`
    /// is set and none does, whether a pattern anchor occurs.
    pub fn is_match_or_anchored(&self, hay: &[u8], anchors: bool) -> (bool, bool) {
        let mut found = false;
        let anchored = self.index.search(hay, anchors, |_, _, _| {
            found = true;
            false
        });
        (found, anchored)
    }

    /// Every occurrence, including ones that overlap an earlier match of a
    /// different needle: every start position is looked at, not only those
    /// after the previous match, so a secret that shares bytes with another
    /// one next to it is still found whole. Overlapping matches of the same
    /// needle (a value repeated back to back) are merged. Returns whether a
    /// pattern anchor occurs in `hay`, when `anchors` is set.
    pub fn scan(&self, hay: &[u8], out: &mut Vec<ExactHit>, anchors: bool) -> bool {
        if self.index.is_empty() && !anchors {
            return false;
        }
        let mut covered_to = 0;
        let first = out.len();
        self.index.search(hay, anchors, |start, id, len| {
            let end = start + len;
            if end <= covered_to {
                return true;
            }
            covered_to = end;
            let (owner, encoding) = self.needles[id];
            if let Some(last) = out[first..].last_mut()
                && last.owner == owner
                && last.encoding == encoding
                && start < last.range.end
            {
                last.range.end = end;
                return true;
            }
            out.push(ExactHit {
                owner,
                encoding,
                range: start..end,
            });
            true
        })
    }
}

/// Every needle for one value.
fn variants(value: &[u8]) -> Vec<(Zeroizing<Vec<u8>>, Encoding)> {
    let mut out: Vec<(Zeroizing<Vec<u8>>, Encoding)> = Vec::new();
    let mut push = |needle: Zeroizing<Vec<u8>>, encoding| {
        if !needle.is_empty() && !out.iter().any(|(n, _)| *n == needle) {
            out.push((needle, encoding));
        }
    };
    push(Zeroizing::new(value.to_vec()), Encoding::Raw);
    let lower = Zeroizing::new(hex::encode(value).into_bytes());
    let upper = Zeroizing::new(lower.to_ascii_uppercase());
    push(lower, Encoding::Hex);
    push(upper, Encoding::Hex);
    for standard in base64_needles(value) {
        let url_safe = Zeroizing::new(standard.iter().map(|&c| to_url_safe(c)).collect());
        push(standard, Encoding::Base64);
        push(url_safe, Encoding::Base64);
    }
    push(json_escaped(value, false), Encoding::JsonEscaped);
    push(json_escaped(value, true), Encoding::JsonEscaped);
    out
}

/// `value` as it appears inside a JSON string: `"`, `\` and control bytes
/// escaped (and `/` as `\/` when `slash` is set, as some serializers do).
/// Empty when nothing needs escaping, since the raw needle covers it.
/// Bytes from 0x80 up are left as they are: serializers that escape all
/// non-ASCII (`\u00e9`) are not covered.
fn json_escaped(value: &[u8], slash: bool) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() + 8));
    let mut changed = false;
    for &b in value {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            b'/' if slash => Some(b"\\/"),
            _ => None,
        };
        match escape {
            Some(escape) => out.extend_from_slice(escape),
            None if b < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            None => {
                out.push(b);
                continue;
            }
        }
        changed = true;
    }
    if !changed {
        out.clear();
    }
    out
}

fn to_url_safe(c: u8) -> u8 {
    match c {
        b'+' => b'-',
        b'/' => b'_',
        other => other,
    }
}

/// Standard-alphabet base64 needles: the whole value padded and unpadded,
/// then for each start offset mod 3 the characters that depend only on
/// the value's bytes.
fn base64_needles(value: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let mut out = vec![
        Zeroizing::new(STANDARD.encode(value).into_bytes()),
        Zeroizing::new(STANDARD_NO_PAD.encode(value).into_bytes()),
    ];
    for offset in 0..3 {
        let mut shifted = Zeroizing::new(vec![0u8; offset]);
        shifted.extend_from_slice(value);
        let encoded = Zeroizing::new(STANDARD_NO_PAD.encode(shifted.as_slice()).into_bytes());
        // Character i carries bits [6i, 6i + 6); the value owns bits
        // [8 * offset, 8 * (offset + len)).
        let first = (8 * offset).div_ceil(6);
        let end = (8 * (offset + value.len())) / 6;
        if let Some(core) = encoded.get(first..end) {
            out.push(Zeroizing::new(core.to_vec()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needles_of(value: &[u8]) -> Vec<Vec<u8>> {
        variants(value)
            .into_iter()
            .map(|(n, _)| n.to_vec())
            .collect()
    }

    #[test]
    fn base64_cores_are_found_at_every_alignment_inside_a_larger_blob() {
        let value = b"hunter2-is-not-a-password";
        let needles = needles_of(value);
        for prefix_len in 0..6 {
            let mut blob = b"{\"padding\":\"".to_vec();
            blob.extend(std::iter::repeat_n(b'x', prefix_len));
            blob.extend_from_slice(value);
            blob.extend_from_slice(b"\"}");
            for encoded in [STANDARD.encode(&blob), STANDARD_NO_PAD.encode(&blob)] {
                let found = needles.iter().any(|n| {
                    encoded
                        .as_bytes()
                        .windows(n.len())
                        .any(|w| w == n.as_slice())
                });
                assert!(found, "prefix {prefix_len}");
            }
        }
    }

    #[test]
    fn cores_are_long_enough_for_the_shortest_value() {
        let value = [0xA5u8; MIN_SECRET_LEN];
        for core in base64_needles(&value) {
            assert!(core.len() >= 7, "core of {} chars", core.len());
        }
    }

    #[test]
    fn hex_variants_are_distinct_only_when_case_matters() {
        let digits_only = needles_of(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
        assert_eq!(
            digits_only
                .iter()
                .filter(|n| n.as_slice() == b"112233445566")
                .count(),
            1
        );
        let with_letters = needles_of(&[0xAB; 6]);
        assert!(with_letters.iter().any(|n| n.as_slice() == b"abababababab"));
        assert!(with_letters.iter().any(|n| n.as_slice() == b"ABABABABABAB"));
    }

    #[test]
    fn adjacent_overlapping_secrets_are_both_found_whole() {
        let exact = Exact::build(
            &[
                (0, SecretValue::new(b"alpha-bravo".to_vec())),
                (1, SecretValue::new(b"bravo-charlie".to_vec())),
            ],
            Vec::new(),
        );
        let mut hits = Vec::new();
        exact.scan(b"..alpha-bravo-charlie..", &mut hits, false);
        let got: Vec<_> = hits.iter().map(|h| (h.owner, h.range.clone())).collect();
        assert_eq!(got, vec![(0, 2..13), (1, 8..21)]);
    }

    #[test]
    fn every_encoding_is_found_and_anchors_are_reported() {
        let values = [
            (0, SecretValue::new(b"first-secret".to_vec())),
            (1, SecretValue::new(b"second-secret".to_vec())),
        ];
        let text = format!(
            "x first-secret y {} z {}",
            hex::encode("second-secret"),
            STANDARD.encode("first-secret")
        );
        let exact = Exact::build(&values, vec![b"ghp_".to_vec()]);
        let mut hits = Vec::new();
        assert!(!exact.scan(text.as_bytes(), &mut hits, true));
        let got: Vec<_> = hits.iter().map(|h| (h.owner, h.encoding)).collect();
        assert_eq!(
            got,
            vec![
                (0, Encoding::Raw),
                (1, Encoding::Hex),
                (0, Encoding::Base64)
            ]
        );
        assert!(exact.scan(b"a ghp_ b", &mut Vec::new(), true));
        assert!(exact.is_match(text.as_bytes()));
        assert!(!exact.is_match(b"a ghp_ b"), "an anchor is not a match");
    }

    #[test]
    fn a_value_repeated_back_to_back_is_one_merged_hit() {
        let exact = Exact::build(&[(0, SecretValue::new(b"aaaaaa".to_vec()))], Vec::new());
        let mut hits = Vec::new();
        exact.scan(&[b'a'; 100], &mut hits, false);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].range, 0..100);
    }

    #[test]
    fn secret_value_debug_is_opaque() {
        let v = SecretValue::new(b"very-secret-value".to_vec());
        assert_eq!(format!("{v:?}"), "[secret]");
    }
}
