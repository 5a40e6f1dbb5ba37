//! Phone numbers: the hardest of the kinds, because so many other numbers
//! have digits and separators too. What counts:
//!
//! - international: `+` then 8–15 digits (E.164's maximum), bare or with
//!   separators: `+44 20 7946 0958`, `+1 (555) 123-4567`, `+33612345678`;
//! - national: 10–11 digits (12 when it starts with a trunk `0`) in at least
//!   two groups split by spaces, dashes, dots or an area code in
//!   parentheses: `(555) 123-4567`, `555-123-4567`, `020 7946 0958`,
//!   `06 12 34 56 78`, `1-800-555-0199`.
//!
//! What does not: a bare run of digits without `+` (an order number, a
//! timestamp), dates (`2024-01-15 10`, `15.01.2024`), times (`…10:30`),
//! amounts with thousands separators (`1 234 567 890`), IPv4 addresses, and
//! anything glued to a word, a decimal point or a slash.

use super::{Kind, Span, is_word};

/// One candidate: its digit groups (byte ranges) and the separators.
struct Candidate {
    start: usize,
    end: usize,
    international: bool,
    parens: bool,
    groups: Vec<(usize, usize)>,
    /// The separator bytes between groups, one string per gap.
    seps: Vec<Vec<u8>>,
}

pub(super) fn phones(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let opens = c.is_ascii_digit()
            || (matches!(c, b'+' | b'(') && i + 1 < b.len() && b[i + 1].is_ascii_digit());
        let free = i == 0 || !glued_before(b[i - 1]);
        if !(opens && free) {
            i += 1;
            continue;
        }
        let mut cand = candidate(b, i);
        // "555-123-4567 2 times": written with dashes or dots, a phone
        // number does not go on after a plain space.
        while cand.seps.last().map(Vec::as_slice) == Some(b" ")
            && cand.seps.iter().any(|s| s == b"-" || s == b".")
        {
            cand.groups.pop();
            cand.seps.pop();
            cand.end = cand.groups.last().map_or(cand.start, |g| g.1);
        }
        // Skip the whole candidate when nothing in it is a phone number: a
        // suffix of a rejected date or amount is not one either.
        let mut next = cand.end.max(i + 1);
        loop {
            if accept(b, &cand) {
                out.push(Span {
                    start: cand.start,
                    end: cand.end,
                    kind: Kind::Phone,
                });
                next = cand.end;
                break;
            }
            // "555 123 4567 89": a number after a plain space may be the
            // next thing said, not part of the phone number.
            if !drop_last_spaced_group(&mut cand) {
                break;
            }
        }
        i = next;
    }
    out
}

/// A number that follows one of these is part of something else.
fn glued_before(b: u8) -> bool {
    is_word(b)
        || matches!(
            b,
            b'.' | b',' | b'-' | b'/' | b'+' | b'_' | b'(' | b')' | b'@' | b'#' | b'$' | b'='
        )
}

/// The longest run from `start` of digit groups joined by separators
/// (`' '`, `-`, `.`, or parentheses around one group).
fn candidate(b: &[u8], start: usize) -> Candidate {
    let mut c = Candidate {
        start,
        end: start,
        international: b[start] == b'+',
        parens: false,
        groups: Vec::new(),
        seps: Vec::new(),
    };
    let mut j = if c.international { start + 1 } else { start };
    let mut open = false;
    let mut closed_at = 0;
    let mut sep: Vec<u8> = Vec::new();
    loop {
        // Separators before the next group: at most a space, a dash or a
        // dot, and at most one parenthesis pair in the whole number.
        while j < b.len() && sep.len() < 3 {
            match b[j] {
                b'(' if !open && !c.parens => {
                    open = true;
                    c.parens = true;
                }
                b')' if open && !c.groups.is_empty() && sep.is_empty() => {
                    open = false;
                    closed_at = j;
                }
                b' ' | b'-' | b'.' if !sep.iter().any(|s| matches!(s, b' ' | b'-' | b'.')) => {}
                _ => break,
            }
            sep.push(b[j]);
            j += 1;
        }
        if j >= b.len() || !b[j].is_ascii_digit() {
            break;
        }
        let g = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if !c.groups.is_empty() {
            c.seps.push(std::mem::take(&mut sep));
        }
        sep.clear();
        c.groups.push((g, j));
        c.end = j;
    }
    // An unclosed parenthesis means the number is not what it seemed.
    if open {
        c.groups.clear();
    }
    // "(555-123-4567)": the parentheses wrap the number, not an area code.
    if c.parens && b[start] == b'(' && closed_at >= c.end {
        c.start = start + 1;
        c.parens = false;
    }
    c
}

/// Drops the last group when a lone space joins it to the rest.
fn drop_last_spaced_group(c: &mut Candidate) -> bool {
    if c.groups.len() < 3 || c.seps.last().map(Vec::as_slice) != Some(b" ") {
        return false;
    }
    c.groups.pop();
    c.seps.pop();
    c.end = c.groups.last().map_or(c.start, |g| g.1);
    true
}

fn accept(b: &[u8], c: &Candidate) -> bool {
    if c.groups.is_empty() {
        return false;
    }
    // Glued to what follows: a word, a time (`10:30`), a fraction, a unit.
    if c.end < b.len() {
        let next = b[c.end];
        let after_digit = c.end + 1 < b.len() && b[c.end + 1].is_ascii_digit();
        if is_word(next)
            || matches!(next, b'%' | b'_')
            || (matches!(next, b':' | b'/' | b',') && after_digit)
        {
            return false;
        }
    }
    let digits: Vec<u8> = c
        .groups
        .iter()
        .flat_map(|&(s, e)| b[s..e].iter().copied())
        .collect();
    if c.international {
        return (8..=15).contains(&digits.len()) && digits[0] != b'0';
    }
    // "0049 30 12345678": the international prefix dialled as digits.
    if digits.starts_with(b"00") {
        return sizes_ok(c) && (8..=15).contains(&(digits.len() - 2)) && digits[2] != b'0';
    }
    let max = if digits[0] == b'0' { 12 } else { 11 };
    let sizes: Vec<usize> = c.groups.iter().map(|&(s, e)| e - s).collect();
    (10..=max).contains(&digits.len())
        && sizes_ok(c)
        && !(thousands(&sizes, &c.seps) && digits[0] != b'0' && !c.parens)
        && !date_first(b, c)
        && !ipv4(&sizes, &c.seps)
        && !mixed_dots(&c.seps)
}

/// Dot-separated phone numbers use dots throughout (`555.123.4567`); a dot
/// beside other separators is a decimal point (`48.8566 2.3522`).
fn mixed_dots(seps: &[Vec<u8>]) -> bool {
    let dotted = seps.iter().filter(|s| s.contains(&b'.')).count();
    dotted > 0 && dotted < seps.len()
}

/// Two groups or more, none longer than 8 digits: without `+` a phone
/// number is written in groups.
fn sizes_ok(c: &Candidate) -> bool {
    c.groups.len() >= 2 && c.groups.iter().all(|&(s, e)| e - s <= 8)
}

/// `1 234 567 890` / `1.234.567.890`: an amount, not a phone number.
fn thousands(sizes: &[usize], seps: &[Vec<u8>]) -> bool {
    let uniform = seps
        .first()
        .is_some_and(|first| first.len() == 1 && seps.iter().all(|s| s == first));
    uniform && (1..=3).contains(&sizes[0]) && sizes[1..].iter().all(|&n| n == 3)
}

/// Four dot-separated groups of 1–3 digits.
fn ipv4(sizes: &[usize], seps: &[Vec<u8>]) -> bool {
    sizes.len() == 4 && sizes.iter().all(|&n| n <= 3) && seps.iter().all(|s| s == b".")
}

/// The first three groups read as a date: `2024-01-15`, `15.01.2024`,
/// `01/15/2024` shapes (year 1900–2099, month 1–12, day 1–31).
fn date_first(b: &[u8], c: &Candidate) -> bool {
    if c.groups.len() < 3 {
        return false;
    }
    let num = |k: usize| -> u32 {
        let (s, e) = c.groups[k];
        b[s..e].iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0'))
    };
    let len = |k: usize| c.groups[k].1 - c.groups[k].0;
    let year = |k: usize| len(k) == 4 && (1900..=2099).contains(&num(k));
    let small = |k: usize, max: u32| len(k) <= 2 && (1..=max).contains(&num(k));
    (year(0) && small(1, 12) && small(2, 31))
        || (year(2) && small(0, 31) && small(1, 31) && (num(0) <= 12 || num(1) <= 12))
}
