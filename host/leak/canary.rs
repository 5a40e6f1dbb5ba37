//! Canaries: random tokens the host plants where a guest can see them (a
//! fake secret in its environment, a decoy row) and that must never leave.
//! Any sighting of one in outbound data is proof of exfiltration, so a
//! canary hit blocks whatever policy the use site has.

use std::fmt;

/// Every canary starts with this, so that one can be recognised even by a
/// scanner that does not know its exact value (see the `ironclaw_canary`
/// pattern).
pub const CANARY_PREFIX: &str = "ironclaw-canary-";

/// Random bytes after the prefix (shown as twice as many hex digits).
const RANDOM_BYTES: usize = 16;

/// The random source failed; no canary could be made.
#[derive(Debug, thiserror::Error)]
#[error("could not generate a canary: {0}")]
pub struct CanaryError(String);

/// A host-planted token: `ironclaw-canary-` followed by 32 lowercase hex
/// digits from the operating system's random source.
///
/// `Debug` and `Display` do not print the value: a canary that reached a log
/// line would itself trip the log scanner. Use [`Canary::value`] to plant it.
#[derive(Clone, PartialEq, Eq)]
pub struct Canary(String);

impl Canary {
    /// A fresh canary.
    pub fn generate() -> Result<Self, CanaryError> {
        let mut random = [0u8; RANDOM_BYTES];
        getrandom::fill(&mut random).map_err(|e| CanaryError(e.to_string()))?;
        Ok(Self(format!("{CANARY_PREFIX}{}", hex::encode(random))))
    }

    /// The token to plant.
    pub fn value(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Canary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Canary([hidden])")
    }
}

impl fmt::Display for Canary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[canary]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canaries_are_prefixed_random_hex() -> Result<(), CanaryError> {
        let a = Canary::generate()?;
        let b = Canary::generate()?;
        assert_ne!(a, b);
        let rest = a.value().strip_prefix(CANARY_PREFIX);
        assert!(rest.is_some_and(|r| {
            r.len() == 2 * RANDOM_BYTES
                && r.bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        }));
        Ok(())
    }

    #[test]
    fn debug_and_display_hide_the_value() -> Result<(), CanaryError> {
        let c = Canary::generate()?;
        for shown in [format!("{c:?}"), format!("{c}")] {
            assert!(!shown.contains(c.value()));
            assert!(!shown.contains(CANARY_PREFIX));
        }
        Ok(())
    }
}
