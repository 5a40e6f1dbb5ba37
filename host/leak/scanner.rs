//! [`LeakScanner`]: the three detectors behind one cheap-to-clone handle.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::sync::Arc;

use super::exact::{Exact, ExactHit, MIN_SECRET_LEN, OwnerId, SecretValue};
use super::patterns::{PatternHit, Patterns};
use super::{
    BuildError, Canary, Encoding, Finding, FindingKind, IgnoreReason, Ignored, LeakBlocked,
    LeakPolicy, LeakSite, patterns, percent, redact,
};

/// Scans bytes for credentials. Built once from the owner's secrets and
/// the host's canaries; clones share the same tables (an `Arc`), so hand
/// one to every use site. Rebuild it when the set of secrets changes.
#[derive(Clone)]
pub struct LeakScanner {
    inner: Arc<Inner>,
}

struct Inner {
    patterns: &'static Patterns,
    exact: Exact,
    /// Who each exact-value owner id is.
    owners: Vec<Owner>,
    /// Decode `+` as a space in the percent-decoded view: only when some
    /// value contains a space, since otherwise it cannot change a result.
    plus_as_space: bool,
    ignored: Vec<Ignored>,
}

enum Owner {
    Secret(Arc<str>),
    Canary,
}

/// Which detectors a scan uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Detect {
    All,
    ExactOnly,
}

impl std::fmt::Debug for LeakScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeakScanner")
            .field("values", &self.inner.owners.len())
            .field("ignored", &self.inner.ignored.len())
            .finish_non_exhaustive()
    }
}

impl LeakScanner {
    /// A scanner for `secrets` (name and value; values are taken by move
    /// and zeroized once the matcher is built) and `canaries` (`None`,
    /// `Some(canary)` or a list). Values under [`MIN_SECRET_LEN`] bytes
    /// are skipped and reported by [`LeakScanner::ignored`].
    pub fn new<N>(
        secrets: impl IntoIterator<Item = (N, Vec<u8>)>,
        canaries: impl IntoIterator<Item = Canary>,
    ) -> Result<Self, BuildError>
    where
        N: Into<Arc<str>>,
    {
        let patterns = patterns::compiled().map_err(|e| BuildError::Patterns(e.to_string()))?;
        let mut owners = Vec::new();
        let mut values: Vec<(OwnerId, SecretValue)> = Vec::new();
        let mut ignored = Vec::new();
        for (name, value) in secrets {
            let name = name.into();
            let value = SecretValue::new(value);
            if value.len() < MIN_SECRET_LEN {
                ignored.push(Ignored {
                    name,
                    reason: IgnoreReason::TooShort {
                        len: value.len(),
                        min: MIN_SECRET_LEN,
                    },
                });
                continue;
            }
            values.push((owners.len(), value));
            owners.push(Owner::Secret(name));
        }
        for canary in canaries {
            values.push((
                owners.len(),
                SecretValue::new(canary.value().as_bytes().to_vec()),
            ));
            owners.push(Owner::Canary);
        }
        let plus_as_space = values.iter().any(|(_, v)| v.contains(b' '));
        let exact = Exact::build(&values, patterns::anchors());
        Ok(Self {
            inner: Arc::new(Inner {
                patterns,
                exact,
                owners,
                plus_as_space,
                ignored,
            }),
        })
    }

    /// Secrets that were left out of exact-value scanning, with the reason.
    pub fn ignored(&self) -> &[Ignored] {
        &self.inner.ignored
    }

    /// Whether anything at all is found: the fast path, which stops at the
    /// first match and allocates only when the input has `%` escapes.
    /// Agrees with `!self.scan(bytes).is_empty()`.
    pub fn contains_leak(&self, bytes: &[u8]) -> bool {
        let inner = &*self.inner;
        // Without an anchor no pattern can match (see `find_in`).
        let leaks = |hay: &[u8]| {
            let (found, anchored) = inner.exact.is_match_or_anchored(hay, true);
            found || (anchored && inner.patterns.is_match(hay))
        };
        leaks(bytes)
            || percent::decode(bytes, inner.plus_as_space).is_some_and(|view| leaks(&view.bytes))
    }

    /// Every finding (patterns, stored values, canaries), sorted by
    /// position. Findings may overlap, e.g. a stored secret that is also a
    /// GitHub token is reported as both.
    pub fn scan(&self, bytes: &[u8]) -> Vec<Finding> {
        self.find(bytes, Detect::All)
    }

    /// Stored values and canaries only, no patterns.
    pub fn scan_exact(&self, bytes: &[u8]) -> Vec<Finding> {
        self.find(bytes, Detect::ExactOnly)
    }

    /// `bytes` with every finding replaced by `[REDACTED:<label>]`, where
    /// the label is a pattern id, a secret's name or `canary`. Borrowed
    /// when nothing was found.
    pub fn redact<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        redact::apply(bytes, &self.scan(bytes))
    }

    /// Applies `policy` to `bytes`: unchanged when clean, redacted under
    /// [`LeakPolicy::Redact`], [`LeakBlocked`] under [`LeakPolicy::Block`]
    /// or whenever a canary is found. `location` names the place for the
    /// error and log line ("request header x-foo", "db write memory_chunks").
    pub fn check<'a>(
        &self,
        bytes: &'a [u8],
        policy: LeakPolicy,
        location: &str,
    ) -> Result<Cow<'a, [u8]>, LeakBlocked> {
        self.check_with(bytes, policy, location, Detect::All)
    }

    /// [`LeakScanner::check`] with the site's policy and detectors (see
    /// [`LeakSite`]).
    pub fn check_at<'a>(
        &self,
        bytes: &'a [u8],
        site: LeakSite,
        location: &str,
    ) -> Result<Cow<'a, [u8]>, LeakBlocked> {
        let detect = if site.uses_patterns() {
            Detect::All
        } else {
            Detect::ExactOnly
        };
        self.check_with(bytes, site.policy(), location, detect)
    }

    fn check_with<'a>(
        &self,
        bytes: &'a [u8],
        policy: LeakPolicy,
        location: &str,
        detect: Detect,
    ) -> Result<Cow<'a, [u8]>, LeakBlocked> {
        let findings = self.find(bytes, detect);
        if findings.is_empty() {
            return Ok(Cow::Borrowed(bytes));
        }
        if policy == LeakPolicy::Block || findings.iter().any(Finding::is_canary) {
            return Err(LeakBlocked {
                location: location.to_owned(),
                findings,
            });
        }
        match policy {
            LeakPolicy::Redact => Ok(redact::apply(bytes, &findings)),
            _ => {
                tracing::warn!(
                    target: "ironclaw::leak",
                    location,
                    found = %super::summarize(&findings),
                    "possible secret leak let through"
                );
                Ok(Cow::Borrowed(bytes))
            }
        }
    }

    fn find(&self, bytes: &[u8], detect: Detect) -> Vec<Finding> {
        let mut findings = self.find_in(bytes, detect);
        if let Some(view) = percent::decode(bytes, self.inner.plus_as_space) {
            let raw_count = findings.len();
            for mut finding in self.find_in(&view.bytes, detect) {
                let original = view.original(&finding.range);
                if original.len() != finding.range.len() && finding.encoding == Encoding::Raw {
                    finding.encoding = Encoding::Percent;
                }
                finding.range = original;
                // A match that needed no decoding was already found raw.
                let seen = findings[..raw_count].iter().any(|f| {
                    f.kind == finding.kind
                        && f.range.start <= finding.range.start
                        && finding.range.end <= f.range.end
                });
                if !seen {
                    findings.push(finding);
                }
            }
        }
        // The canary shape pattern and the exact canary find the same bytes;
        // sorting equal findings next to each other lets one pass drop
        // such duplicates.
        findings.sort_by(|a, b| {
            let key = |f: &Finding| (f.range.start, f.range.end, Reverse(f.rank()));
            key(a)
                .cmp(&key(b))
                .then_with(|| a.label().cmp(b.label()))
                .then_with(|| a.encoding.cmp(&b.encoding))
        });
        findings.dedup_by(|a, b| a.kind == b.kind && a.range == b.range);
        findings
    }

    fn find_in(&self, bytes: &[u8], detect: Detect) -> Vec<Finding> {
        let inner = &*self.inner;
        let mut findings = Vec::new();
        let mut exact_hits: Vec<ExactHit> = Vec::new();
        // The same pass says whether a pattern anchor occurs: without one
        // no pattern can match, and the patterns are not run.
        let anchored = inner
            .exact
            .scan(bytes, &mut exact_hits, detect == Detect::All);
        findings.extend(exact_hits.into_iter().map(|hit| Finding {
            kind: match &inner.owners[hit.owner] {
                Owner::Secret(name) => FindingKind::Secret { name: name.clone() },
                Owner::Canary => FindingKind::Canary,
            },
            range: hit.range,
            encoding: hit.encoding,
        }));
        if detect == Detect::All {
            let mut pattern_hits: Vec<PatternHit> = Vec::new();
            if anchored {
                inner.patterns.scan(bytes, &mut pattern_hits);
            }
            findings.extend(pattern_hits.into_iter().map(|hit| {
                let info = inner.patterns.info(hit.index);
                Finding {
                    kind: if inner.patterns.is_canary(hit.index) {
                        FindingKind::Canary
                    } else {
                        FindingKind::Pattern {
                            id: info.id,
                            name: info.name,
                            severity: info.severity,
                        }
                    },
                    range: hit.range,
                    encoding: Encoding::Raw,
                }
            }));
        } else {
            // Canaries are exact values, but one planted by an earlier
            // process is only known by its shape; look for that shape even
            // where patterns are off.
            let mut pattern_hits: Vec<PatternHit> = Vec::new();
            inner.patterns.scan_canaries(bytes, &mut pattern_hits);
            findings.extend(pattern_hits.into_iter().map(|hit| Finding {
                kind: FindingKind::Canary,
                range: hit.range,
                encoding: Encoding::Raw,
            }));
        }
        findings
    }
}
