//! The leak scanner: finds credentials in bytes on their way out of the
//! host (DESIGN.md §5) — outbound requests, responses handed to guests,
//! logs, database writes and channel messages.
//!
//! Three detectors run over the same bytes:
//! - **patterns**: well-known credential formats ([`patterns()`] lists
//!   them: OpenAI, Anthropic, AWS, GitHub, Slack, PEM keys, JWTs, connection
//!   strings with passwords, …). Each has anchors, short strings one of
//!   which every match contains (`sk-`, `ghp_`, `://`, …); the exact-value
//!   pass looks for them too, and only input holding one gets the
//!   [`regex::bytes::RegexSet`] pass that answers "anything at all?"; only
//!   the patterns that matched are run again for positions.
//! - **exact values**: the owner's stored secrets, raw and hex-, base64-,
//!   percent- or JSON-escaped, in one index searched in one pass (see
//!   `exact.rs` for the encodings and their limits, `needles.rs` for the
//!   search). Values shorter than [`MIN_SECRET_LEN`]
//!   bytes are left out, because they would match everywhere; they are
//!   listed by [`LeakScanner::ignored`].
//! - **canaries**: tokens the host plants ([`Canary::generate`]) and that
//!   must never leave. A canary hit always blocks, whatever the policy.
//!
//! Input is `&[u8]`, so bodies that are not UTF-8 are scanned too.
//!
//! ```text
//! LeakScanner::new(secrets: impl IntoIterator<Item = (impl Into<Arc<str>>, Vec<u8>)>,
//!                  canaries: impl IntoIterator<Item = Canary>) -> Result<LeakScanner, BuildError>
//! scanner.contains_leak(&[u8]) -> bool                       // fast path
//! scanner.scan(&[u8]) -> Vec<Finding>                         // everything, sorted
//! scanner.scan_exact(&[u8]) -> Vec<Finding>                   // stored values and canaries only
//! scanner.redact(&[u8]) -> Cow<[u8]>                          // "[REDACTED:<label>]"
//! scanner.check(&[u8], LeakPolicy, location) -> Result<Cow<[u8]>, LeakBlocked>
//! scanner.check_at(&[u8], LeakSite, location) -> Result<Cow<[u8]>, LeakBlocked>
//! ```
//!
//! Nothing this module prints — [`Finding`], [`LeakBlocked`], [`Canary`],
//! log lines under [`LeakPolicy::Warn`] — contains matched bytes: only a
//! pattern id, a secret's *name*, an encoding and a byte range.
//!
//! Scan whole buffers. A caller that scans a stream chunk by chunk must
//! carry an overlap between chunks, or a secret split across a chunk
//! boundary goes unseen.

mod canary;
mod exact;
mod needles;
mod patterns;
mod percent;
mod redact;
mod scanner;

#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

pub use canary::{CANARY_PREFIX, Canary, CanaryError};
pub use exact::MIN_SECRET_LEN;
pub use patterns::{PatternInfo, Severity};
pub use scanner::LeakScanner;

/// `bytes` with each of `findings` (from a scan of these bytes) replaced by
/// `[REDACTED:<label>]`; borrowed when there are none.
pub fn redact_findings<'a>(bytes: &'a [u8], findings: &[Finding]) -> std::borrow::Cow<'a, [u8]> {
    redact::apply(bytes, findings)
}

/// Every credential pattern the scanner knows, in a stable order.
pub fn patterns() -> impl Iterator<Item = PatternInfo> {
    patterns::all()
}

/// How a match was encoded in the scanned bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    Raw,
    /// Percent-encoded (URL); found in the decoded view of the input.
    Percent,
    /// Base64, standard or URL-safe alphabet, with or without padding.
    Base64,
    /// Hex, lower or upper case.
    Hex,
    /// Escaped inside a JSON string (`\"`, `\\`, `\n`, `\/`, …).
    JsonEscaped,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Raw => "raw",
            Self::Percent => "percent-encoded",
            Self::Base64 => "base64",
            Self::Hex => "hex",
            Self::JsonEscaped => "JSON-escaped",
        })
    }
}

/// What was found. Never carries the matched bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// A well-known credential format.
    Pattern {
        id: &'static str,
        name: &'static str,
        severity: Severity,
    },
    /// One of the owner's stored secrets, by name.
    Secret { name: Arc<str> },
    /// A host-planted canary.
    Canary,
}

/// One match: what, where (byte range in the scanned input) and how it was
/// encoded. `Debug` and `Display` show only these, never the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    pub range: Range<usize>,
    pub encoding: Encoding,
}

impl Finding {
    /// What redaction markers and errors call this finding: the pattern id,
    /// the secret's name, or `canary`.
    pub fn label(&self) -> &str {
        match &self.kind {
            FindingKind::Pattern { id, .. } => id,
            FindingKind::Secret { name } => name,
            FindingKind::Canary => "canary",
        }
    }

    pub fn is_canary(&self) -> bool {
        self.kind == FindingKind::Canary
    }

    /// Which finding names an overlapping group when redacting: a canary
    /// over a stored secret over a pattern.
    pub(super) fn rank(&self) -> u8 {
        match self.kind {
            FindingKind::Canary => 2,
            FindingKind::Secret { .. } => 1,
            FindingKind::Pattern { .. } => 0,
        }
    }

    /// "pattern github_pat", "secret OPENAI_KEY (base64)", "canary".
    pub(super) fn summary(&self) -> String {
        let what = match &self.kind {
            FindingKind::Pattern { id, .. } => format!("pattern {id}"),
            FindingKind::Secret { name } => format!("secret {name}"),
            FindingKind::Canary => "canary".to_owned(),
        };
        match self.encoding {
            Encoding::Raw => what,
            encoding => format!("{what} ({encoding})"),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at bytes {}..{}",
            self.summary(),
            self.range.start,
            self.range.end
        )
    }
}

/// What a use site does when something is found. A canary hit blocks under
/// every policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakPolicy {
    /// Refuse the bytes: [`LeakScanner::check`] returns [`LeakBlocked`].
    Block,
    /// Replace each match with `[REDACTED:<label>]` and let them through.
    Redact,
    /// Let the bytes through unchanged and log what was found (labels only)
    /// at warn level under the `ironclaw::leak` target. A log layer that
    /// scans with this policy must skip that target, or it recurses.
    Warn,
}

/// The places the host scans, each with its policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakSite {
    /// A guest's HTTP request, before secrets are injected: block.
    OutboundRequest,
    /// An HTTP response on its way to a guest: redact the owner's secret
    /// values. Patterns are not applied here: a response that hands the
    /// guest a token it asked for (an OAuth exchange) is not a leak, and
    /// mangling it would break the guest.
    InboundResponse,
    /// A log line: redact.
    Log,
    /// A write to the database: block.
    DbWrite,
    /// A message emitted on a channel: block.
    ChannelMessage,
    /// What a model or a tool produced, before it is shown, stored or fed
    /// back (the agent's floor): redact the owner's secret values. Patterns
    /// are not applied: a model explaining what an AWS key looks like is not
    /// a leak. A canary still blocks.
    ModelOutput,
}

impl LeakSite {
    pub fn policy(self) -> LeakPolicy {
        match self {
            Self::OutboundRequest | Self::DbWrite | Self::ChannelMessage => LeakPolicy::Block,
            Self::InboundResponse | Self::Log | Self::ModelOutput => LeakPolicy::Redact,
        }
    }

    /// Whether credential patterns are checked here, not only stored values
    /// and canaries.
    pub fn uses_patterns(self) -> bool {
        !matches!(self, Self::InboundResponse | Self::ModelOutput)
    }
}

/// Bytes refused because they contain a secret. Says what was found (a
/// pattern id, a secret's name, a canary) and where (the caller's location
/// label), never the secret itself.
#[derive(Debug, Clone, thiserror::Error)]
#[error("possible secret leak blocked in {location}: {}", summarize(findings))]
pub struct LeakBlocked {
    pub location: String,
    pub findings: Vec<Finding>,
}

impl LeakBlocked {
    /// Whether a canary was among the findings (proof of exfiltration, as
    /// opposed to a possibly accidental match).
    pub fn is_canary(&self) -> bool {
        self.findings.iter().any(Finding::is_canary)
    }
}

/// The distinct summaries of `findings`, in order, comma-separated.
fn summarize(findings: &[Finding]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for summary in findings.iter().map(Finding::summary) {
        if !seen.contains(&summary) {
            seen.push(summary);
        }
    }
    seen.join(", ")
}

/// The scanner could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A built-in pattern failed to compile (a bug, caught by the tests).
    #[error("built-in leak pattern failed to compile: {0}")]
    Patterns(String),
    /// The exact-value matcher could not be built. The current index
    /// cannot fail; the variant stays for callers that match on it.
    #[error("exact-value matcher could not be built: {0}")]
    Automaton(String),
}

/// A secret left out of exact-value scanning, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub name: Arc<str>,
    pub reason: IgnoreReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreReason {
    /// Shorter than [`MIN_SECRET_LEN`] bytes: it would match all over
    /// ordinary data and make every check fail.
    #[error("value is {len} bytes, shorter than the {min}-byte minimum for exact matching")]
    TooShort { len: usize, min: usize },
}
