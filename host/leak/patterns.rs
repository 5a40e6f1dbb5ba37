//! Well-known credential formats.
//!
//! Each pattern has a stable `id` (used in redaction markers, errors and
//! logs, so do not rename one), a human name and a severity. The regexes
//! are deliberately strict about prefix, charset and length: a pattern
//! that fires on ordinary prose would block legitimate traffic, and a
//! scanner that blocks too often gets switched off. Generic shapes such as
//! `Bearer <anything>` are not patterns for that reason; the exact-value
//! scan covers the owner's own tokens whatever their shape.
//!
//! All regexes run with Unicode off (`(?-u)`): the input is arbitrary bytes,
//! `\b` and `\s` are then ASCII-only, which keeps every pattern inside the
//! lazy DFA (a Unicode `\b` would force the slower engines on non-ASCII
//! input).
//!
//! Where a token has a fixed length and a charset that includes `-`, `\b`
//! cannot mark its end, so the regex consumes one following delimiter (or
//! the end of input) and puts the token itself in the capture group `s`.
//! Context patterns (an AWS secret key after `aws_secret_access_key =`, the
//! password of a connection string) do the same so that only the secret
//! part is reported and redacted.

use std::ops::Range;
use std::sync::LazyLock;

use regex::bytes::{Regex, RegexSet};

use super::canary::CANARY_PREFIX;
use super::exact::MIN_SECRET_LEN;

/// How bad it is if a match of this pattern leaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Test-mode or low-privilege credentials.
    Medium,
    /// Credentials that grant access to an account or service.
    High,
    /// Live payment keys, cloud root credentials, private keys.
    Critical,
}

/// One well-known credential format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternInfo {
    /// Stable identifier, e.g. `github_pat`.
    pub id: &'static str,
    /// Human-readable name, e.g. "GitHub personal access token".
    pub name: &'static str,
    pub severity: Severity,
}

struct Def {
    info: PatternInfo,
    /// A match of this pattern is reported as a canary hit, not a pattern.
    canary: bool,
    regex: &'static str,
    /// Anchors: strings of which every match of `regex` contains at least
    /// one, each shorter than [`MIN_SECRET_LEN`] (see [`anchors`]). An
    /// entry starting with `(?i)` stands for every ASCII case of the rest.
    anchors: &'static [&'static str],
}

const fn def(
    id: &'static str,
    name: &'static str,
    severity: Severity,
    regex: &'static str,
    anchors: &'static [&'static str],
) -> Def {
    Def {
        info: PatternInfo { id, name, severity },
        canary: false,
        regex,
        anchors,
    }
}

use Severity::{Critical, High, Medium};

/// Placeholders such as `${PASSWORD}`, `<password>`, `****` or `[redacted]`
/// are not passwords; the first character of a connection-string password
/// may therefore not be one of `$ < { * [`.
macro_rules! url_password {
    ($schemes:literal) => {
        concat!(
            r"\b(?:",
            $schemes,
            r")(?:\+[a-z0-9]+)?://[^\s:@/?#]*:(?P<s>[^\s@/$<{*\[][^\s@/]*)@"
        )
    };
}

/// The end of a token whose charset includes `-`: one byte outside the
/// charset, or the end of input.
macro_rules! end_dash {
    () => {
        r"(?:[^A-Za-z0-9_-]|\z)"
    };
}

static DEFS: &[Def] = &[
    def(
        "openai_api_key",
        "OpenAI API key",
        Critical,
        r"\bsk-[A-Za-z0-9]{48}\b",
        &["sk-"],
    ),
    def(
        "openai_project_key",
        "OpenAI project or service-account key",
        Critical,
        r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}",
        &["sk-"],
    ),
    def(
        "anthropic_api_key",
        "Anthropic API key",
        Critical,
        r"\bsk-ant-(?:[a-z]{3,6}[0-9]{2}-)?[A-Za-z0-9_-]{32,}",
        &["sk-"],
    ),
    def(
        "aws_access_key_id",
        "AWS access key id",
        High,
        r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
        &["AKIA", "ASIA", "ABIA", "ACCA"],
    ),
    def(
        "aws_secret_access_key",
        "AWS secret access key",
        Critical,
        concat!(
            r#"(?:(?i:aws)[A-Za-z0-9_.-]{0,20}(?i:secret)[A-Za-z0-9_.-]{0,20}|(?i:secret_?access_?key))"#,
            r#"["']?\s*[:=]\s*["']?(?P<s>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|\z)"#
        ),
        &["(?i)secre"],
    ),
    def(
        "github_pat",
        "GitHub personal access token (classic)",
        Critical,
        r"\bghp_[A-Za-z0-9]{36}\b",
        &["ghp_"],
    ),
    def(
        "github_oauth_token",
        "GitHub OAuth access token",
        High,
        r"\bgho_[A-Za-z0-9]{36}\b",
        &["gho_"],
    ),
    def(
        "github_user_token",
        "GitHub user-to-server token",
        High,
        r"\bghu_[A-Za-z0-9]{36}\b",
        &["ghu_"],
    ),
    def(
        "github_server_token",
        "GitHub server-to-server token",
        High,
        r"\bghs_[A-Za-z0-9]{36}\b",
        &["ghs_"],
    ),
    def(
        "github_refresh_token",
        "GitHub refresh token",
        High,
        r"\bghr_[A-Za-z0-9]{36,255}\b",
        &["ghr_"],
    ),
    def(
        "github_fine_grained_pat",
        "GitHub fine-grained personal access token",
        Critical,
        r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b",
        &["_pat_"],
    ),
    def(
        "gitlab_pat",
        "GitLab personal access token",
        Critical,
        r"\bglpat-[A-Za-z0-9_.-]{20,}",
        &["glpat"],
    ),
    def(
        "slack_token",
        "Slack bot, user or workspace token",
        High,
        r"\bxox[abposre]-[0-9]+-[A-Za-z0-9-]{20,}",
        &["xox"],
    ),
    def(
        "slack_app_token",
        "Slack app-level token",
        High,
        r"\bxapp-[0-9]-[A-Za-z0-9-]{20,}",
        &["xapp-"],
    ),
    def(
        "slack_webhook_url",
        "Slack incoming webhook URL",
        High,
        concat!(
            r"https?://hooks\.slack\.com/(?:services/T[A-Za-z0-9_]{6,}/B[A-Za-z0-9_]{6,}/[A-Za-z0-9_]{20,}",
            r"|(?:workflows|triggers)/[A-Za-z0-9_/]{20,})"
        ),
        &["ks.sl"],
    ),
    def(
        "telegram_bot_token",
        "Telegram bot token",
        High,
        concat!(r"\b(?P<s>[0-9]{8,10}:AA[A-Za-z0-9_-]{33})", end_dash!()),
        &[":AA"],
    ),
    def(
        "google_api_key",
        "Google API key",
        High,
        concat!(r"\b(?P<s>AIza[A-Za-z0-9_-]{35})", end_dash!()),
        &["AIza"],
    ),
    def(
        "google_oauth_client_secret",
        "Google OAuth client secret",
        High,
        concat!(r"\b(?P<s>GOCSPX-[A-Za-z0-9_-]{28})", end_dash!()),
        &["GOCSP"],
    ),
    def(
        "stripe_live_secret_key",
        "Stripe live secret key",
        Critical,
        r"\bsk_live_[A-Za-z0-9]{24,}\b",
        &["sk_"],
    ),
    def(
        "stripe_restricted_key",
        "Stripe restricted key",
        High,
        r"\brk_(?:live|test)_[A-Za-z0-9]{24,}\b",
        &["rk_"],
    ),
    def(
        "stripe_test_secret_key",
        "Stripe test secret key",
        Medium,
        r"\bsk_test_[A-Za-z0-9]{24,}\b",
        &["sk_"],
    ),
    def(
        "twilio_api_key",
        "Twilio API key",
        High,
        r"\bSK[0-9a-fA-F]{32}\b",
        &["SK"],
    ),
    def(
        "sendgrid_api_key",
        "SendGrid API key",
        High,
        concat!(
            r"\b(?P<s>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})",
            end_dash!()
        ),
        &["SG."],
    ),
    def(
        "npm_token",
        "npm access token",
        High,
        r"\bnpm_[A-Za-z0-9]{36}\b",
        &["npm_"],
    ),
    def(
        "pypi_token",
        "PyPI API token",
        High,
        r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
        &["pypi-"],
    ),
    def(
        "huggingface_token",
        "Hugging Face access token",
        High,
        r"\bhf_[A-Za-z0-9]{34,}\b",
        &["hf_"],
    ),
    // The first part is the base64 of a numeric user id, so it starts with
    // M, N or O followed by one of D, T, j, z.
    def(
        "discord_bot_token",
        "Discord bot token",
        High,
        concat!(
            r"\b(?P<s>[MNO][DTjz][A-Za-z0-9_-]{22,24}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})",
            end_dash!()
        ),
        &[
            "MD", "MT", "Mj", "Mz", "ND", "NT", "Nj", "Nz", "OD", "OT", "Oj", "Oz",
        ],
    ),
    // The whole block is matched when the END line is present; otherwise
    // the header and the base64 lines that follow it.
    def(
        "private_key_pem",
        "PEM private key",
        Critical,
        concat!(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
            r"(?:[A-Za-z0-9+/=\s:,.-]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
            r"|[A-Za-z0-9+/=\r\n]*)"
        ),
        &["-----"],
    ),
    def(
        "age_secret_key",
        "age secret key",
        Critical,
        r"\bAGE-SECRET-KEY-1[02-9ac-hj-np-zAC-HJ-NP-Z]{58}\b",
        &["AGE-S"],
    ),
    def(
        "jwt",
        "JSON Web Token",
        High,
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        &["eyJ"],
    ),
    def(
        "postgres_url_password",
        "PostgreSQL connection string with password",
        High,
        url_password!("postgres|postgresql"),
        &["postg"],
    ),
    def(
        "mysql_url_password",
        "MySQL connection string with password",
        High,
        url_password!("mysql|mariadb"),
        &["mysql", "maria"],
    ),
    def(
        "mongodb_url_password",
        "MongoDB connection string with password",
        High,
        url_password!(r"mongodb|mongodb\+srv"),
        &["mongo"],
    ),
    def(
        "redis_url_password",
        "Redis connection string with password",
        High,
        url_password!("redis|rediss"),
        &["redis"],
    ),
    // Any IronClaw canary, including one planted by an earlier process whose
    // exact value this scanner no longer knows.
    Def {
        info: PatternInfo {
            id: "ironclaw_canary",
            name: "IronClaw canary",
            severity: Critical,
        },
        canary: true,
        regex: r"ironclaw-canary-[0-9a-f]{32}",
        anchors: &["ironc"],
    },
];

/// Every pattern the scanner knows, in a stable order.
pub fn all() -> impl Iterator<Item = PatternInfo> {
    DEFS.iter().map(|d| d.info)
}

/// Every pattern's anchors, `(?i)` entries expanded to each ASCII case,
/// deduplicated. The exact-value automaton looks for them in the same walk
/// as the stored values: input in which the walk finds nothing at all
/// (no value, no anchor) cannot match any pattern, so the patterns are
/// only run over input where it found something.
///
/// Every anchor is shorter than [`MIN_SECRET_LEN`], so shorter than every
/// exact-value needle: where an anchor and a value start at the same byte
/// the leftmost-longest automaton still reports the value. A longer one is
/// cut to that length (a part of a string every match contains is one
/// too).
pub(super) fn anchors() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for anchor in DEFS.iter().flat_map(|d| d.anchors) {
        let (word, any_case) = match anchor.strip_prefix("(?i)") {
            Some(rest) => (rest.as_bytes(), true),
            None => (anchor.as_bytes(), false),
        };
        let word = &word[..word.len().min(MIN_SECRET_LEN - 1)];
        let cased = if any_case {
            ascii_cases(word)
        } else {
            vec![word.to_vec()]
        };
        for a in cased {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

/// `word` in every combination of ASCII upper and lower case.
fn ascii_cases(word: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::with_capacity(word.len())];
    for &b in word {
        let (lower, upper) = (b.to_ascii_lowercase(), b.to_ascii_uppercase());
        let mut next = Vec::with_capacity(out.len() * 2);
        for prefix in out {
            if lower != upper {
                let mut other = prefix.clone();
                other.push(upper);
                next.push(other);
            }
            let mut same = prefix;
            same.push(lower);
            next.push(same);
        }
        out = next;
    }
    out
}

/// A pattern match, before it becomes a [`super::Finding`].
pub(super) struct PatternHit {
    pub index: usize,
    pub range: Range<usize>,
}

pub(super) struct Patterns {
    set: RegexSet,
    each: Vec<Regex>,
    /// Index of the canary-shape pattern.
    canary: usize,
}

static COMPILED: LazyLock<Result<Patterns, regex::Error>> = LazyLock::new(Patterns::compile);

/// The compiled patterns, shared by every scanner in the process.
pub(super) fn compiled() -> Result<&'static Patterns, &'static regex::Error> {
    COMPILED.as_ref()
}

impl Patterns {
    fn compile() -> Result<Self, regex::Error> {
        let sources: Vec<String> = DEFS.iter().map(|d| format!("(?-u){}", d.regex)).collect();
        let set = RegexSet::new(&sources)?;
        let each = sources
            .iter()
            .map(|s| Regex::new(s))
            .collect::<Result<Vec<_>, _>>()?;
        let canary = DEFS.iter().position(|d| d.canary).unwrap_or(DEFS.len());
        Ok(Self { set, each, canary })
    }

    pub fn info(&self, index: usize) -> PatternInfo {
        DEFS[index].info
    }

    pub fn is_canary(&self, index: usize) -> bool {
        DEFS[index].canary
    }

    pub fn is_match(&self, hay: &[u8]) -> bool {
        self.set.is_match(hay)
    }

    /// Matches of the canary-shape pattern only. Every match starts with
    /// the canary prefix: a SIMD search for it costs far less than the
    /// regex's own setup, on every response body and header.
    pub fn scan_canaries(&self, hay: &[u8], out: &mut Vec<PatternHit>) {
        static PREFIX: LazyLock<memchr::memmem::Finder<'static>> =
            LazyLock::new(|| memchr::memmem::Finder::new(CANARY_PREFIX.as_bytes()));
        if PREFIX.find(hay).is_none() {
            return;
        }
        if let Some(regex) = self.each.get(self.canary) {
            out.extend(regex.find_iter(hay).map(|m| PatternHit {
                index: self.canary,
                range: m.range(),
            }));
        }
    }

    /// The set answers "which patterns match at all" in one pass; only
    /// those are then run on their own to find positions.
    pub fn scan(&self, hay: &[u8], out: &mut Vec<PatternHit>) {
        if !self.set.is_match(hay) {
            return;
        }
        for index in self.set.matches(hay).iter() {
            for caps in self.each[index].captures_iter(hay) {
                let m = caps.name("s").or_else(|| caps.get(0));
                if let Some(m) = m.filter(|m| !m.is_empty()) {
                    out.push(PatternHit {
                        index,
                        range: m.range(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_has_anchors_that_its_matches_can_contain() {
        for d in DEFS {
            assert!(!d.anchors.is_empty(), "{}", d.info.id);
            for a in d.anchors {
                let word = a.strip_prefix("(?i)").unwrap_or(a);
                assert!(word.len() >= 2, "{}: {a}", d.info.id);
                // The anchor is literal text of the regex (the samples in
                // `tests/pattern_positives.rs` show each pattern is still
                // found through them).
                let literal = d.regex.replace('\\', "");
                let found = if a.starts_with("(?i)") {
                    literal.to_ascii_lowercase().contains(word)
                } else {
                    literal.contains(word) || d.info.id == "discord_bot_token"
                };
                assert!(found, "{}: {a}", d.info.id);
            }
        }
    }

    #[test]
    fn canary_shapes_start_with_the_prefix_their_search_looks_for() {
        let canary = DEFS.iter().filter(|d| d.canary).collect::<Vec<_>>();
        assert_eq!(canary.len(), 1);
        assert!(canary[0].regex.starts_with(CANARY_PREFIX));
        let p = compiled().unwrap();
        let planted = format!("x {CANARY_PREFIX}{} y", "0a".repeat(16));
        let mut hits = Vec::new();
        p.scan_canaries(planted.as_bytes(), &mut hits);
        assert_eq!(hits.len(), 1);
        p.scan_canaries(b"ironclaw-canary 0a0a", &mut hits);
        assert_eq!(hits.len(), 1);
    }

    #[test]
    fn plain_urls_hold_no_anchor() {
        // A request URL is scanned on every request; its scheme must not
        // send it through the pattern set.
        let all = anchors();
        for url in [
            "https://api.example.com/v1/items?page=2",
            "http://127.0.0.1:8080/api/items",
        ] {
            assert!(
                !all.iter()
                    .any(|a| url.as_bytes().windows(a.len()).any(|w| w == a)),
                "{url}"
            );
        }
    }

    #[test]
    fn anchors_are_shorter_than_any_secret_and_cover_every_case() {
        let all = anchors();
        assert!(all.iter().all(|a| a.len() < MIN_SECRET_LEN));
        for case in [&b"secre"[..], b"SECRE", b"SeCrE", b"sECRe"] {
            assert!(all.iter().any(|a| a == case), "{case:?}");
        }
        assert_eq!(ascii_cases(b"a1b").len(), 4);
    }
}
