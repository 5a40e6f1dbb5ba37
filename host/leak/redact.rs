//! Replacing findings with `[REDACTED:<label>]` markers.
//!
//! Findings may overlap (a stored secret that is also a GitHub token, two
//! secrets sharing bytes, a pattern inside a PEM block). Overlapping and
//! touching ranges are merged into one marker, so no byte of any finding
//! survives, and the marker is named after the most telling finding of the
//! group: a canary over a stored secret over a pattern.

use std::borrow::Cow;
use std::ops::Range;

use super::Finding;

pub(super) fn apply<'a>(bytes: &'a [u8], findings: &[Finding]) -> Cow<'a, [u8]> {
    let groups = merge(findings);
    if groups.is_empty() {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut copied_to = 0;
    for (range, label) in groups {
        out.extend_from_slice(&bytes[copied_to..range.start]);
        out.extend_from_slice(b"[REDACTED:");
        out.extend_from_slice(label.as_bytes());
        out.push(b']');
        copied_to = range.end;
    }
    out.extend_from_slice(&bytes[copied_to..]);
    Cow::Owned(out)
}

/// Disjoint, sorted ranges covering every finding, each with the label of
/// its highest-ranked finding.
fn merge(findings: &[Finding]) -> Vec<(Range<usize>, &str)> {
    let mut sorted: Vec<&Finding> = findings.iter().filter(|f| !f.range.is_empty()).collect();
    sorted.sort_by_key(|f| f.range.start);
    let mut groups: Vec<(Range<usize>, &Finding)> = Vec::new();
    for finding in sorted {
        match groups.last_mut() {
            Some((range, best)) if finding.range.start <= range.end => {
                range.end = range.end.max(finding.range.end);
                if finding.rank() > best.rank() {
                    *best = finding;
                }
            }
            _ => groups.push((finding.range.clone(), finding)),
        }
    }
    groups
        .into_iter()
        .map(|(range, best)| (range, best.label()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::leak::{Encoding, FindingKind, Severity};

    fn secret(name: &str, range: Range<usize>) -> Finding {
        Finding {
            kind: FindingKind::Secret {
                name: Arc::from(name),
            },
            range,
            encoding: Encoding::Raw,
        }
    }

    fn pattern(id: &'static str, range: Range<usize>) -> Finding {
        Finding {
            kind: FindingKind::Pattern {
                id,
                name: "test",
                severity: Severity::High,
            },
            range,
            encoding: Encoding::Raw,
        }
    }

    #[test]
    fn nothing_found_borrows() {
        assert!(matches!(apply(b"hello", &[]), Cow::Borrowed(_)));
    }

    #[test]
    fn disjoint_findings_get_one_marker_each() {
        let out = apply(
            b"aa SECRET bb TOKEN cc",
            &[secret("S", 3..9), pattern("p", 13..18)],
        );
        assert_eq!(out.as_ref(), b"aa [REDACTED:S] bb [REDACTED:p] cc");
    }

    #[test]
    fn overlapping_findings_merge_under_the_best_label() {
        let findings = [
            pattern("p", 2..10),
            secret("S", 5..14),
            pattern("q", 14..16),
        ];
        let out = apply(b"0123456789abcdefgh", &findings);
        assert_eq!(out.as_ref(), b"01[REDACTED:S]gh");
    }

    #[test]
    fn canary_outranks_secret() {
        let canary = Finding {
            kind: FindingKind::Canary,
            range: 4..8,
            encoding: Encoding::Base64,
        };
        let out = apply(b"0123456789", &[secret("S", 0..6), canary]);
        assert_eq!(out.as_ref(), b"[REDACTED:canary]89");
    }
}
