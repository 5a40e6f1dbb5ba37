//! Hand-rolled credential matchers. A fresh instance serves every call, so
//! nothing may be compiled at start-up: one pass over the bytes looks up
//! each byte in a const table of anchor literals (prefixes such as `ghp_`,
//! or separators such as `:` and `.` for tokens without a prefix), and
//! each anchor's checker then verifies the character class, length and
//! boundaries around it.

/// One credential found: the pattern's id and the byte range to redact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: &'static str,
    pub start: usize,
    pub end: usize,
}

/// The pattern ids, in the order the README lists them.
pub const IDS: &[&str] = &[
    "openai-key",
    "anthropic-key",
    "aws-access-key-id",
    "aws-secret-key",
    "github-token",
    "gitlab-token",
    "slack-token",
    "slack-webhook",
    "telegram-bot-token",
    "google-api-key",
    "stripe-key",
    "private-key",
    "jwt",
    "connection-string",
    "sendgrid-key",
    "twilio-api-key",
    "npm-token",
    "pypi-token",
    "discord-bot-token",
    "huggingface-token",
    "azure-storage-key",
    GENERIC,
];

/// `password = …`-style assignments: a guess, so warn-only by default and
/// always yielding to a specific pattern over the same bytes.
pub const GENERIC: &str = "generic-secret";

#[derive(Clone, Copy)]
enum Kind {
    /// prefix + at least `min` chars of `class`; `mixed` asks for two of
    /// upper/lower/digit in the tail (random tokens, not English words).
    Prefixed {
        id: &'static str,
        class: Class,
        min: usize,
        mixed: bool,
    },
    /// `sk-…` (OpenAI), except `sk-ant-` (Anthropic, its own anchor).
    OpenAi,
    /// AKIA/ASIA + exactly 16 of [A-Z0-9].
    AwsKeyId,
    /// `AIza` + exactly 35 of [A-Za-z0-9_-].
    Google,
    /// `SK` + exactly 32 lowercase hex.
    Twilio,
    /// `SG.` + 22 + `.` + 43.
    SendGrid,
    /// `eyJ…` header `.` `ey…` payload `.` signature.
    Jwt,
    PrivateKey,
    /// `:` — `scheme://user:pass@` or a Telegram `digits:token`.
    Colon,
    /// `.` — a Discord bot token `M…(24+).(6).(27+)`.
    Dot,
    /// A label followed by `=`/`:` and a value of `class`, `len` long.
    Labelled {
        id: &'static str,
        class: Class,
        min: usize,
        max: usize,
    },
    /// `password = …` and friends.
    Generic,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Alnum,
    /// [A-Za-z0-9_-], base64url.
    Token,
    /// [A-Za-z0-9_]
    Word,
    /// [A-Za-z0-9-]
    Dash,
    /// [A-Za-z0-9+/=], base64.
    Base64,
    /// [A-Za-z0-9/_-], a URL path.
    Path,
}

impl Class {
    fn has(self, b: u8) -> bool {
        b.is_ascii_alphanumeric()
            || match self {
                Class::Alnum => false,
                Class::Token => b == b'_' || b == b'-',
                Class::Word => b == b'_',
                Class::Dash => b == b'-',
                Class::Base64 => b == b'+' || b == b'/' || b == b'=',
                Class::Path => b == b'/' || b == b'_' || b == b'-',
            }
    }
}

struct Anchor {
    lit: &'static [u8],
    /// Matched ASCII-case-insensitively (labels); otherwise exactly.
    ci: bool,
    kind: Kind,
}

const fn pre(lit: &'static [u8], id: &'static str, class: Class, min: usize) -> Anchor {
    Anchor {
        lit,
        ci: false,
        kind: Kind::Prefixed {
            id,
            class,
            min,
            mixed: false,
        },
    }
}

const fn pre_mixed(lit: &'static [u8], id: &'static str, class: Class, min: usize) -> Anchor {
    Anchor {
        lit,
        ci: false,
        kind: Kind::Prefixed {
            id,
            class,
            min,
            mixed: true,
        },
    }
}

const fn exact(lit: &'static [u8], kind: Kind) -> Anchor {
    Anchor {
        lit,
        ci: false,
        kind,
    }
}

const fn label(lit: &'static [u8], kind: Kind) -> Anchor {
    Anchor {
        lit,
        ci: true,
        kind,
    }
}

const AWS_SECRET: Kind = Kind::Labelled {
    id: "aws-secret-key",
    class: Class::Base64,
    min: 40,
    max: 40,
};
const AZURE: Kind = Kind::Labelled {
    id: "azure-storage-key",
    class: Class::Base64,
    min: 40,
    max: 200,
};

/// Longer literals first where one is a prefix of another, so that a
/// specific pattern claims its bytes before a general one looks.
const ANCHORS: &[Anchor] = &[
    pre(b"sk-ant-", "anthropic-key", Class::Token, 32),
    exact(b"sk-", Kind::OpenAi),
    pre(b"sk_live_", "stripe-key", Class::Alnum, 16),
    pre(b"sk_test_", "stripe-key", Class::Alnum, 16),
    pre(b"rk_live_", "stripe-key", Class::Alnum, 16),
    pre(b"rk_test_", "stripe-key", Class::Alnum, 16),
    exact(b"AKIA", Kind::AwsKeyId),
    exact(b"ASIA", Kind::AwsKeyId),
    pre(b"ghp_", "github-token", Class::Alnum, 36),
    pre(b"gho_", "github-token", Class::Alnum, 36),
    pre(b"ghu_", "github-token", Class::Alnum, 36),
    pre(b"ghs_", "github-token", Class::Alnum, 36),
    pre(b"ghr_", "github-token", Class::Alnum, 36),
    pre(b"github_pat_", "github-token", Class::Word, 40),
    pre(b"glpat-", "gitlab-token", Class::Token, 20),
    pre_mixed(b"xoxb-", "slack-token", Class::Dash, 10),
    pre_mixed(b"xoxp-", "slack-token", Class::Dash, 10),
    pre_mixed(b"xoxa-", "slack-token", Class::Dash, 10),
    pre_mixed(b"xoxs-", "slack-token", Class::Dash, 10),
    pre_mixed(b"xoxr-", "slack-token", Class::Dash, 10),
    pre_mixed(b"xoxe-", "slack-token", Class::Dash, 10),
    pre(
        b"hooks.slack.com/services/",
        "slack-webhook",
        Class::Path,
        20,
    ),
    exact(b"AIza", Kind::Google),
    exact(b"-----BEGIN ", Kind::PrivateKey),
    exact(b"eyJ", Kind::Jwt),
    exact(b"SG.", Kind::SendGrid),
    exact(b"SK", Kind::Twilio),
    pre(b"npm_", "npm-token", Class::Alnum, 36),
    pre(b"pypi-AgEIcHlwaS5vcmc", "pypi-token", Class::Token, 50),
    pre_mixed(b"hf_", "huggingface-token", Class::Alnum, 34),
    exact(b":", Kind::Colon),
    exact(b".", Kind::Dot),
    label(b"accountkey", AZURE),
    label(b"secret_access_key", AWS_SECRET),
    label(b"secretaccesskey", AWS_SECRET),
    label(b"aws_secret_key", AWS_SECRET),
    label(b"password", Kind::Generic),
    label(b"passwd", Kind::Generic),
    label(b"passphrase", Kind::Generic),
    label(b"secret", Kind::Generic),
    label(b"api_key", Kind::Generic),
    label(b"apikey", Kind::Generic),
    label(b"api-key", Kind::Generic),
    label(b"access_key", Kind::Generic),
    label(b"token", Kind::Generic),
];

/// For each byte, the anchors (bit i = ANCHORS[i]) that may start there.
static FIRST: [u64; 256] = first_table();

const fn first_table() -> [u64; 256] {
    assert!(ANCHORS.len() <= 64);
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < ANCHORS.len() {
        let b = ANCHORS[i].lit[0];
        if ANCHORS[i].ci {
            t[b.to_ascii_lowercase() as usize] |= 1 << i;
            t[b.to_ascii_uppercase() as usize] |= 1 << i;
        } else {
            t[b as usize] |= 1 << i;
        }
        i += 1;
    }
    t
}

/// Every credential-looking span in `text`, in order of discovery.
pub fn scan(text: &str) -> Vec<Found> {
    let s = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let mut mask = FIRST[s[i] as usize];
        let mut next = i + 1;
        while mask != 0 {
            let a = &ANCHORS[mask.trailing_zeros() as usize];
            mask &= mask - 1;
            let Some(tail) = s.get(i..i + a.lit.len()) else {
                continue;
            };
            let hit = if a.ci {
                tail.eq_ignore_ascii_case(a.lit)
            } else {
                tail == a.lit
            };
            if !hit {
                continue;
            }
            if let Some(f) = check(s, i, a) {
                // A generic label's value may hold a specific token: keep
                // scanning inside it. Anything else owns its bytes.
                if f.id != GENERIC {
                    next = next.max(f.end);
                }
                found.push(f);
                if next > i + 1 {
                    break;
                }
            }
        }
        i = next;
    }
    found
}

/// End of the run of `class` bytes starting at `from`.
fn run(s: &[u8], from: usize, class: Class) -> usize {
    let mut j = from;
    while j < s.len() && class.has(s[j]) {
        j += 1;
    }
    j
}

/// The byte before `at` does not continue a token (so `task-…` is not `sk-`).
fn starts_token(s: &[u8], at: usize) -> bool {
    at == 0 || !Class::Token.has(s[at - 1])
}

/// At least two of upper, lower, digit: random, not a word or a number.
fn mixed(t: &[u8]) -> bool {
    let upper = t.iter().any(u8::is_ascii_uppercase) as u8;
    let lower = t.iter().any(u8::is_ascii_lowercase) as u8;
    let digit = t.iter().any(u8::is_ascii_digit) as u8;
    upper + lower + digit >= 2
}

fn found(id: &'static str, start: usize, end: usize) -> Option<Found> {
    Some(Found { id, start, end })
}

fn check(s: &[u8], at: usize, a: &Anchor) -> Option<Found> {
    let after = at + a.lit.len();
    match a.kind {
        Kind::Prefixed {
            id,
            class,
            min,
            mixed: want_mixed,
        } => {
            if !starts_token(s, at) {
                return None;
            }
            let end = run(s, after, class);
            let tail = &s[after..end];
            (tail.len() >= min && (!want_mixed || mixed(tail))).then_some(())?;
            found(id, at, end)
        }
        Kind::OpenAi => {
            let end = run(s, after, Class::Token);
            let tail = &s[after..end];
            (starts_token(s, at) && !tail.starts_with(b"ant-") && tail.len() >= 20 && mixed(tail))
                .then_some(())?;
            found("openai-key", at, end)
        }
        Kind::AwsKeyId => {
            let end = after + 16;
            let ok = at == 0 || !s[at - 1].is_ascii_alphanumeric();
            let body = s.get(after..end)?;
            let ok = ok
                && body
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && s.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
            ok.then_some(())?;
            found("aws-access-key-id", at, end)
        }
        Kind::Google => {
            let end = run(s, after, Class::Token);
            (starts_token(s, at) && end - after == 35).then_some(())?;
            found("google-api-key", at, end)
        }
        Kind::Twilio => {
            let ok = at == 0 || !s[at - 1].is_ascii_alphanumeric();
            let end = run(s, after, Class::Alnum);
            let hex = &s[after..end];
            (ok && hex.len() == 32 && hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                .then_some(())?;
            found("twilio-api-key", at, end)
        }
        Kind::SendGrid => {
            let mid = run(s, after, Class::Token);
            (starts_token(s, at) && mid - after >= 20 && s.get(mid) == Some(&b'.')).then_some(())?;
            let end = run(s, mid + 1, Class::Token);
            (end - mid > 40).then_some(())?;
            found("sendgrid-key", at, end)
        }
        Kind::Jwt => jwt(s, at),
        Kind::PrivateKey => private_key(s, at, after),
        Kind::Colon => connection_password(s, at).or_else(|| telegram(s, at)),
        Kind::Dot => discord(s, at),
        Kind::Labelled {
            id,
            class,
            min,
            max,
        } => {
            let v = value_after_separator(s, after)?;
            let end = run(s, v, class);
            let n = end - v;
            (n >= min && n <= max && mixed(&s[v..end])).then_some(())?;
            found(id, v, end)
        }
        Kind::Generic => generic(s, at, after),
    }
}

fn jwt(s: &[u8], at: usize) -> Option<Found> {
    if at > 0 && (Class::Token.has(s[at - 1]) || s[at - 1] == b'.') {
        return None;
    }
    let e1 = run(s, at, Class::Token);
    (e1 - at >= 10 && s.get(e1) == Some(&b'.')).then_some(())?;
    let e2 = run(s, e1 + 1, Class::Token);
    (e2 - e1 > 10 && s[e1 + 1..].starts_with(b"ey") && s.get(e2) == Some(&b'.')).then_some(())?;
    let e3 = run(s, e2 + 1, Class::Token);
    (e3 - e2 > 16).then_some(())?;
    found("jwt", at, e3)
}

/// `-----BEGIN … PRIVATE KEY-----` up to its END line, or to the end of
/// the text when cut short (half a key still leaks).
fn private_key(s: &[u8], at: usize, after: usize) -> Option<Found> {
    let line_end = memchr(b'\n', &s[after..]).map_or(s.len(), |n| after + n);
    let header = &s[after..line_end];
    if header.len() > 60 || find(header, b"PRIVATE KEY").is_none() {
        return None;
    }
    let end = match find(&s[line_end..], b"-----END ") {
        Some(n) => {
            let from = line_end + n + 9;
            match find(&s[from..], b"-----") {
                Some(m) => from + m + 5,
                None => s.len(),
            }
        }
        None => s.len(),
    };
    found("private-key", at, end)
}

const DB_SCHEMES: &[&[u8]] = &[
    b"postgres",
    b"postgresql",
    b"mysql",
    b"mariadb",
    b"mongodb",
    b"mongodb+srv",
    b"redis",
    b"rediss",
    b"amqp",
    b"amqps",
    b"mssql",
    b"sqlserver",
];

/// The password of `scheme://user:password@host` for database and queue
/// schemes; only the password is redacted so the host stays readable.
fn connection_password(s: &[u8], colon: usize) -> Option<Found> {
    if !s[colon..].starts_with(b"://") {
        return None;
    }
    let mut b = colon;
    while b > 0 && (s[b - 1].is_ascii_alphanumeric() || s[b - 1] == b'+') {
        b -= 1;
    }
    let scheme = &s[b..colon];
    if !DB_SCHEMES.iter().any(|k| scheme.eq_ignore_ascii_case(k)) {
        return None;
    }
    let auth = colon + 3;
    // Up to the path; the last `@` so that an unescaped `@` in the
    // password is still covered.
    let stop = s[auth..]
        .iter()
        .position(|&c| c.is_ascii_whitespace() || matches!(c, b'/' | b'"' | b'\'' | b'`' | b'?'))
        .map_or(s.len(), |n| auth + n);
    let at_sign = auth + s[auth..stop].iter().rposition(|&c| c == b'@')?;
    let pass = auth + s[auth..at_sign].iter().position(|&c| c == b':')? + 1;
    (at_sign > pass && !placeholder(&s[pass..at_sign])).then_some(())?;
    found("connection-string", pass, at_sign)
}

/// `123456789:AA…` (8–10 digits, colon, 35 chars), also inside `/bot<token>/`.
fn telegram(s: &[u8], colon: usize) -> Option<Found> {
    let mut b = colon;
    while b > 0 && colon - b < 11 && s[b - 1].is_ascii_digit() {
        b -= 1;
    }
    let digits = colon - b;
    let before_ok = b == 0 || !Class::Token.has(s[b - 1]) || s[..b].ends_with(b"bot");
    let end = run(s, colon + 1, Class::Token);
    ((8..=10).contains(&digits) && before_ok && end - colon - 1 == 35).then_some(())?;
    found("telegram-bot-token", b, end)
}

/// `M…`/`N…`/`O…` (24–28) `.` (6) `.` (27+), anchored on the first dot.
fn discord(s: &[u8], dot: usize) -> Option<Found> {
    let mut b = dot;
    while b > 0 && dot - b <= 28 && Class::Token.has(s[b - 1]) {
        b -= 1;
    }
    let first = &s[b..dot];
    let before_ok = b == 0 || !(Class::Token.has(s[b - 1]) || s[b - 1] == b'.');
    (before_ok && (24..=28).contains(&first.len()) && matches!(first[0], b'M' | b'N' | b'O'))
        .then_some(())?;
    let e2 = run(s, dot + 1, Class::Token);
    (e2 - dot - 1 == 6 && s.get(e2) == Some(&b'.') && mixed(first)).then_some(())?;
    let e3 = run(s, e2 + 1, Class::Token);
    (e3 - e2 > 27).then_some(())?;
    found("discord-bot-token", b, e3)
}

/// After a label: optional closing quote, blanks, `=`/`:` (`:=`, `=>`;
/// not `==`), blanks, optional opening quote. Returns the value's start.
fn value_after_separator(s: &[u8], mut p: usize) -> Option<usize> {
    if matches!(s.get(p), Some(b'"' | b'\'')) {
        p += 1;
    }
    while matches!(s.get(p), Some(b' ' | b'\t')) {
        p += 1;
    }
    match (s.get(p), s.get(p + 1)) {
        (Some(b'='), Some(b'=')) => return None,
        (Some(b':'), Some(b'=')) | (Some(b'='), Some(b'>')) => p += 2,
        (Some(b'=' | b':'), _) => p += 1,
        _ => return None,
    }
    while matches!(s.get(p), Some(b' ' | b'\t')) {
        p += 1;
    }
    if matches!(s.get(p), Some(b'"' | b'\'' | b'`')) {
        p += 1;
    }
    Some(p)
}

fn generic(s: &[u8], at: usize, after: usize) -> Option<Found> {
    // The whole identifier holding the label (`DB_PASSWORD`, `apiKey`).
    if at > 0 && Class::Token.has(s[at - 1]) && s[at - 1].is_ascii_alphabetic() {
        // `bypass`, `compass`: the label must start a word or follow `_`/`-`
        // or a lower→upper camel-case step.
        let camel = s[at].is_ascii_uppercase() && s[at - 1].is_ascii_lowercase();
        if !camel {
            return None;
        }
    }
    let word_end = run(s, after, Class::Token);
    let v = value_after_separator(s, word_end)?;
    let end = s[v..]
        .iter()
        .position(|&c| {
            c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'`' | b',' | b';' | b'&' | b')')
        })
        .map_or(s.len(), |n| v + n);
    let value = &s[v..end];
    let ok = (6..=200).contains(&value.len())
        && !placeholder(value)
        && !value.contains(&b'(')
        && !value.windows(2).any(|w| w == b"{{")
        && !value.contains(&b'[')
        // Letters only, or a code path (`self.password`, `cfg.db_pass`).
        && !value.iter().all(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'.'))
        && !value.iter().all(u8::is_ascii_digit);
    ok.then_some(())?;
    found(GENERIC, v, end)
}

/// Values that stand for a secret rather than being one.
fn placeholder(v: &[u8]) -> bool {
    const WORDS: &[&[u8]] = &[
        b"pass",
        b"password",
        b"passwd",
        b"pwd",
        b"secret",
        b"changeme",
        b"example",
        b"user",
        b"username",
        b"redacted",
        b"placeholder",
        b"none",
        b"null",
    ];
    const PARTS: &[&[u8]] = &[
        b"example",
        b"your_",
        b"your-",
        b"xxxx",
        b"****",
        b"placeholder",
    ];
    let Some(&first) = v.first() else {
        return true;
    };
    if matches!(first, b'<' | b'$' | b'%' | b'{' | b'[' | b'*') {
        return true;
    }
    if v.iter().all(|&c| c == first) {
        return true;
    }
    WORDS.iter().any(|w| v.eq_ignore_ascii_case(w))
        || PARTS
            .iter()
            .any(|p| v.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p)))
}

fn memchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
