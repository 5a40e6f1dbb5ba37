//! The floor on streamed model text: an adapter streams its answer in small
//! chunks, and a secret value the model repeats arrives split across many
//! of them, where no single chunk contains it. The guard holds back the
//! last few bytes of the stream (enough for the longest stored secret in
//! any encoding the scanner knows), scans what it holds, and lets text go
//! only once no secret can still be completing in it — redacted where one
//! was found. A canary stops the stream.

use crate::capabilities::live_secrets::SecretSet;
use crate::leak::Finding;

/// Bytes always held back, even with no secrets stored (the canary).
const MIN_HOLD: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamBlocked {
    #[error("{0}")]
    Leak(String),
    #[error("the leak scanner is unavailable; streamed model output withheld")]
    NoScanner,
}

#[derive(Debug, Default)]
pub struct StreamGuard {
    pending: String,
}

/// How many bytes can still belong to a secret that has not fully arrived:
/// the longest stored value in its widest encoding (percent-encoding, 3
/// bytes a byte), plus the canary.
fn hold_for(set: &SecretSet) -> usize {
    let longest = set.longest_value_bytes();
    (longest * 3 + 8).max(MIN_HOLD)
}

impl StreamGuard {
    /// Takes a chunk; returns the text safe to show now (possibly empty).
    pub fn push(&mut self, set: &SecretSet, chunk: &str) -> Result<String, StreamBlocked> {
        self.pending.push_str(chunk);
        let hold = hold_for(set);
        if self.pending.len() <= hold {
            return Ok(String::new());
        }
        self.release(set, self.pending.len() - hold)
    }

    /// The rest, at the end of the call.
    pub fn finish(&mut self, set: &SecretSet) -> Result<String, StreamBlocked> {
        let all = self.pending.len();
        self.release(set, all)
    }

    /// Releases the first `cut` bytes (moved forward past any finding that
    /// starts before it, and to a character boundary), redacted.
    fn release(&mut self, set: &SecretSet, cut: usize) -> Result<String, StreamBlocked> {
        let scanner = set.scanner().ok_or(StreamBlocked::NoScanner)?;
        let findings = scanner.scan_exact(self.pending.as_bytes());
        if findings.iter().any(Finding::is_canary) {
            self.pending.clear();
            return Err(StreamBlocked::Leak(
                "the model's output contained the host's canary; the stream was stopped".into(),
            ));
        }
        let mut cut = cut.min(self.pending.len());
        // A finding that starts before the cut is complete (the hold covers
        // the longest secret): release it whole, redacted, never half.
        for f in &findings {
            if f.range.start < cut && f.range.end > cut {
                cut = f.range.end;
            }
        }
        while !self.pending.is_char_boundary(cut) {
            cut += 1;
        }
        let rest = self.pending.split_off(cut);
        let head = std::mem::replace(&mut self.pending, rest);
        let inside: Vec<Finding> = findings
            .into_iter()
            .filter(|f| f.range.end <= cut)
            .collect();
        Ok(
            String::from_utf8_lossy(&crate::leak::redact_findings(head.as_bytes(), &inside))
                .into_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::leak::Canary;
    use crate::secrets::SecretValue;

    const KEY: &str = "sk-live-0123456789abcdefghijklmnop";

    fn set() -> SecretSet {
        let mut values = BTreeMap::new();
        values.insert("api_key".to_string(), SecretValue::new(KEY.to_string()));
        SecretSet::new(values, Canary::generate().ok(), Vec::new())
    }

    fn stream(set: &SecretSet, text: &str, chunk: usize) -> Result<String, StreamBlocked> {
        let mut guard = StreamGuard::default();
        let mut out = String::new();
        let chars: Vec<char> = text.chars().collect();
        for piece in chars.chunks(chunk) {
            out.push_str(&guard.push(set, &piece.iter().collect::<String>())?);
        }
        out.push_str(&guard.finish(set)?);
        Ok(out)
    }

    #[test]
    fn a_secret_split_across_chunks_is_redacted_at_every_split() {
        let s = set();
        let text = format!(
            "{}Here is the key: {KEY}, use it well. {}",
            "a".repeat(150),
            "é".repeat(80)
        );
        for chunk in 1..12 {
            let out = stream(&s, &text, chunk).unwrap();
            assert!(!out.contains(KEY), "chunk {chunk}: {out}");
            assert!(out.contains("[REDACTED:api_key]"), "chunk {chunk}: {out}");
            assert!(out.ends_with(&"é".repeat(80)), "chunk {chunk}");
        }
    }

    #[test]
    fn clean_text_comes_through_unchanged_and_early() {
        let s = set();
        let text = "x".repeat(1000);
        let mut guard = StreamGuard::default();
        let first = guard.push(&s, &text).unwrap();
        assert!(
            !first.is_empty() && first.len() < 1000,
            "held back only the tail"
        );
        assert_eq!(first + &guard.finish(&s).unwrap(), text);
    }

    #[test]
    fn the_canary_stops_the_stream() {
        let canary = Canary::generate().unwrap();
        let value = canary.value().to_string();
        let s = SecretSet::new(BTreeMap::new(), Some(canary), Vec::new());
        let text = format!("{}leaking {value} now{}", "a".repeat(100), "b".repeat(100));
        for chunk in [1, 5, 300] {
            let e = stream(&s, &text, chunk).unwrap_err();
            assert!(e.to_string().contains("canary"), "{e}");
        }
    }
}
