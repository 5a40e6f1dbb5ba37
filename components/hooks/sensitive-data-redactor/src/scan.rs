//! Hand-written scanners, one per kind of personal data (no regex: the
//! host runs every call in a fresh instance, so anything compiled at
//! start-up would be paid for on every message).
//!
//! They work on bytes. Every span starts and ends next to an ASCII byte (or
//! the text's edge), so slicing the `&str` at span edges is always valid. A
//! byte ≥ 0x80 (part of a non-ASCII character) counts as a word character,
//! so nothing matches from the middle of a word in any script; e-mail
//! addresses may contain such characters (internationalized addresses).

use crate::checks;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    // In precedence order when two finds overlap.
    Email,
    Iban,
    Card,
    Ssn,
    Phone,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Email, Kind::Iban, Kind::Card, Kind::Ssn, Kind::Phone];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Iban => "iban",
            Kind::Card => "card",
            Kind::Ssn => "ssn",
            Kind::Phone => "phone",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    fn placeholder(self) -> &'static str {
        match self {
            Kind::Email => "[email]",
            Kind::Iban => "[iban]",
            Kind::Card => "[card]",
            Kind::Ssn => "[ssn]",
            Kind::Phone => "[phone]",
        }
    }
}

/// A find: bytes `start..end` of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// `text` with every find of the given kinds replaced by its placeholder,
/// or `None` when nothing was found.
pub fn redact(text: &str, kinds: &[Kind]) -> Option<String> {
    let spans = find(text, kinds);
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in spans {
        out.push_str(text.get(at..s.start)?);
        out.push_str(s.kind.placeholder());
        at = s.end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

/// Non-overlapping finds in text order; where two overlap, the kind
/// earlier in [`Kind`]'s order wins (an e-mail's digits are not a phone).
pub fn find(text: &str, kinds: &[Kind]) -> Vec<Span> {
    let b = text.as_bytes();
    let mut all: Vec<Span> = Vec::new();
    for &kind in kinds {
        let spans = match kind {
            Kind::Email => emails(b),
            Kind::Iban => ibans(b),
            Kind::Card => cards(b),
            Kind::Ssn => ssns(b),
            Kind::Phone => phones(b),
        };
        all.extend(spans);
    }
    all.sort_by_key(|s| (s.kind, s.start));
    let mut kept: Vec<Span> = Vec::new();
    for s in all {
        if !kept.iter().any(|k| s.start < k.end && k.start < s.end) {
            kept.push(s);
        }
    }
    kept.sort_by_key(|s| s.start);
    kept
}

// ---------------------------------------------------------------- e-mail

fn is_local(b: u8) -> bool {
    is_word(b) || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'\'')
}

fn is_domain(b: u8) -> bool {
    is_word(b) || matches!(b, b'.' | b'-')
}

/// `local@domain.tld`: a local part of the usual characters, a domain of
/// two or more labels whose last is two or more letters. Trailing dots are
/// left out (the end of a sentence).
fn emails(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut from = 0;
    for at in 0..b.len() {
        if b[at] != b'@' || at < from {
            continue;
        }
        let mut start = at;
        // Bounded scans (a local part is at most 64 bytes, a domain 253):
        // a long run of text before many `@`s stays linear.
        let floor = from.max(at.saturating_sub(65));
        while start > floor && is_local(b[start - 1]) {
            start -= 1;
        }
        while start < at && matches!(b[start], b'.' | b'\'') {
            start += 1;
        }
        let mut end = at + 1;
        let ceiling = b.len().min(at + 1 + 254);
        while end < ceiling && is_domain(b[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(b[end - 1], b'.' | b'-') {
            end -= 1;
        }
        if start == at || at - start > 64 || !domain_ok(&b[at + 1..end]) {
            continue;
        }
        out.push(Span {
            start,
            end,
            kind: Kind::Email,
        });
        from = end;
    }
    out
}

fn domain_ok(d: &[u8]) -> bool {
    if d.is_empty() || d.len() > 253 {
        return false;
    }
    let labels: Vec<&[u8]> = d.split(|&c| c == b'.').collect();
    let tld = labels.last().copied().unwrap_or_default();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.len() <= 63 && l[0] != b'-' && l[l.len() - 1] != b'-')
        && tld.len() >= 2
        && tld.iter().all(u8::is_ascii_alphabetic)
}

// ---------------------------------------------------------------- IBAN

/// Country code, two check digits, then the country's exact length of
/// letters and digits, printed whole or in groups split by single spaces;
/// then the mod-97 check. Lowercase is accepted.
fn ibans(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= b.len() {
        let starts = (i == 0 || !is_word(b[i - 1]))
            && b[i].is_ascii_alphabetic()
            && b[i + 1].is_ascii_alphabetic()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit();
        if starts && let Some(end) = iban_at(b, i) {
            out.push(Span {
                start: i,
                end,
                kind: Kind::Iban,
            });
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

fn iban_at(b: &[u8], start: usize) -> Option<usize> {
    let country = [
        b[start].to_ascii_uppercase(),
        b[start + 1].to_ascii_uppercase(),
    ];
    let want = checks::iban_length(&country)?;
    let mut chars: Vec<u8> = Vec::with_capacity(want);
    let mut j = start;
    while chars.len() < want && j < b.len() {
        let c = b[j];
        if c.is_ascii_alphanumeric() {
            chars.push(c.to_ascii_uppercase());
            j += 1;
        } else if c == b' ' && j > start && j + 1 < b.len() && b[j + 1].is_ascii_alphanumeric() {
            j += 1;
        } else {
            break;
        }
    }
    let whole = chars.len() == want && (j == b.len() || !is_word(b[j]));
    (whole && checks::iban_mod97(&chars)).then_some(j)
}

// ---------------------------------------------------------------- cards

/// Runs of digit groups split by single spaces or dashes.
fn digit_groups(b: &[u8], start: usize) -> (Vec<(usize, usize)>, usize) {
    let mut groups = Vec::new();
    let mut j = start;
    loop {
        let g = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        groups.push((g, j));
        let sep = j < b.len() && matches!(b[j], b' ' | b'-');
        if sep && j + 1 < b.len() && b[j + 1].is_ascii_digit() {
            j += 1;
        } else {
            return (groups, j);
        }
    }
}

/// 13–19 digits, whole or grouped, first digit 2–6, Luhn-valid. Inside a
/// longer run of groups the longest valid stretch of whole groups counts,
/// but a card is never cut out of the middle of an unbroken digit run.
fn cards(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let at_start = b[i].is_ascii_digit() && (i == 0 || !is_digitish(b[i - 1]));
        if !at_start {
            i += 1;
            continue;
        }
        let (groups, end) = digit_groups(b, i);
        i = end;
        if end < b.len() && is_word(b[end]) {
            continue;
        }
        let mut g = 0;
        while g < groups.len() {
            match best_card(b, &groups[g..]) {
                Some(n) => {
                    out.push(Span {
                        start: groups[g].0,
                        end: groups[g + n - 1].1,
                        kind: Kind::Card,
                    });
                    g += n;
                }
                None => g += 1,
            }
        }
    }
    out
}

/// Bytes that make a digit part of something else: a word, a decimal, a
/// negative number, a longer grouped run.
fn is_digitish(b: u8) -> bool {
    is_word(b) || matches!(b, b'.' | b',' | b'-' | b'/' | b'+' | b'_')
}

/// How many leading groups form the longest valid card number, if any.
fn best_card(b: &[u8], groups: &[(usize, usize)]) -> Option<usize> {
    let mut digits: Vec<u8> = Vec::with_capacity(19);
    let mut best = None;
    for (n, &(s, e)) in groups.iter().enumerate() {
        digits.extend_from_slice(&b[s..e]);
        if digits.len() > 19 {
            break;
        }
        if checks::card(&digits) {
            best = Some(n + 1);
        }
    }
    best
}

// ---------------------------------------------------------------- SSN

/// `AAA-GG-SSSS` with dashes (or, consistently, spaces), valid as issued.
/// Nine bare digits are not taken: too many other numbers look like that.
fn ssns(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 11 <= b.len() {
        let w = &b[i..i + 11];
        let sep = w[3];
        let shaped = matches!(sep, b'-' | b' ')
            && w[6] == sep
            && [0, 1, 2, 4, 5, 7, 8, 9, 10]
                .iter()
                .all(|&k| w[k].is_ascii_digit());
        let bounded = (i == 0 || !is_digitish(b[i - 1]))
            && (i + 11 == b.len() || !(is_word(b[i + 11]) || continues(b, i + 11)));
        if shaped && bounded && checks::ssn(&w[0..3], &w[4..6], &w[7..11]) {
            out.push(Span {
                start: i,
                end: i + 11,
                kind: Kind::Ssn,
            });
            i += 11;
        } else {
            i += 1;
        }
    }
    out
}

/// Whether the number goes on after `j` (`-5`, ` 5`, `.5`): then what came
/// before was only part of it.
fn continues(b: &[u8], j: usize) -> bool {
    j + 1 < b.len() && matches!(b[j], b'-' | b'.' | b' ' | b'/') && b[j + 1].is_ascii_digit()
}

mod phone;
use phone::phones;
