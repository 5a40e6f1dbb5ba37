//! Tests of the scanner as a whole. Sample credentials are generated from
//! a fixed seed at run time rather than written out, so that they have
//! realistic charsets and lengths without looking like real keys to other
//! scanners reading this source.

mod api;
mod exact_values;
mod pattern_negatives;
mod pattern_positives;

use super::{BuildError, Canary, Finding, FindingKind, LeakScanner};

pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const ALNUM_DASH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
pub const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const HEX: &[u8] = b"0123456789abcdef";
pub const DIGITS: &[u8] = b"0123456789";
pub const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `len` characters from `charset`, chosen by a SplitMix64 stream seeded
/// with `seed`.
pub fn random(charset: &[u8], len: usize, seed: u64) -> String {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            // The modulo bias is irrelevant for test data.
            char::from(charset[(z % charset.len() as u64) as usize])
        })
        .collect()
}

/// A scanner with no stored secrets and no canary: patterns only.
pub fn patterns_only() -> Result<LeakScanner, BuildError> {
    LeakScanner::new(Vec::<(String, Vec<u8>)>::new(), None::<Canary>)
}

/// The pattern ids found in `text`.
pub fn pattern_ids(scanner: &LeakScanner, text: &[u8]) -> Vec<&'static str> {
    scanner
        .scan(text)
        .into_iter()
        .filter_map(|f| match f.kind {
            FindingKind::Pattern { id, .. } => Some(id),
            _ => None,
        })
        .collect()
}

/// The bytes a finding covers.
pub fn covered<'a>(text: &'a [u8], finding: &Finding) -> &'a [u8] {
    &text[finding.range.clone()]
}
