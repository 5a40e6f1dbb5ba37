//! One inspection: every signal found, its weight, and the edit that
//! neutralises it. Everything is computed per call from const tables (a
//! fresh instance per call makes start-up work a per-call cost).

use crate::phrases::{FIRST, LEN, PHRASES, match_at};

/// An edit of the original text: replace `start..end` (empty = insert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub with: String,
}

#[derive(Debug, Default)]
pub struct Findings {
    pub score: u32,
    /// Signal labels in order of discovery, each once.
    pub labels: Vec<&'static str>,
    pub edits: Vec<Edit>,
}

impl Findings {
    fn add(&mut self, label: &'static str, weight: u32) {
        self.score += weight;
        if !self.labels.contains(&label) {
            self.labels.push(label);
        }
    }

    fn edit(&mut self, start: usize, end: usize, with: impl Into<String>) {
        self.edits.push(Edit {
            start,
            end,
            with: with.into(),
        });
    }
}

const WORD_JOINERS: [char; 5] = ['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}'];

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn is_tag(c: char) -> bool {
    ('\u{e0000}'..='\u{e007f}').contains(&c)
}

/// Inspects `text`. `depth` > 0 for decoded payloads: phrases only, no
/// edits (the whole payload is replaced by the caller).
pub fn scan(text: &str, depth: u8) -> Findings {
    let mut f = Findings::default();
    phrases(text, &mut f, depth == 0);
    if depth == 0 {
        role_markers(text, &mut f);
        special_tokens(text, &mut f);
        hidden(text, &mut f);
        encoded(text, &mut f);
    }
    f
}

/// Words (lower-cased) and their byte ranges in `text`.
fn words(text: &str) -> (String, Vec<(usize, usize, usize, usize)>) {
    let mut norm = String::with_capacity(text.len());
    // (norm start, norm end, text start, text end)
    let mut spans = Vec::new();
    let mut open: Option<(usize, usize)> = None;
    let mut last_end = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // A JSON or C string escape (`\n`, `\t`, `\"`, `\u0020`) separates
        // words as the character it stands for would: tools often return
        // JSON, and "…\nIgnore all previous…" must not read as "nignore".
        if c == '\\'
            && let Some(&(_, e)) = chars.peek()
            && matches!(e, 'n' | 'r' | 't' | 'b' | 'f' | '"' | '/' | 'u')
        {
            chars.next();
            if e == 'u' {
                for _ in 0..4 {
                    chars.next_if(|(_, h)| h.is_ascii_hexdigit());
                }
            }
            if let Some((ns, ts)) = open.take() {
                spans.push((ns, norm.len(), ts, last_end));
            }
            continue;
        }
        if c.is_alphanumeric() {
            if open.is_none() {
                open = Some((norm.len(), i));
            }
            if c.is_ascii() {
                norm.push(c.to_ascii_lowercase());
            } else {
                norm.extend(c.to_lowercase());
            }
            last_end = i + c.len_utf8();
        } else if WORD_JOINERS.contains(&c) && open.is_some() {
            // Invisible inside a word: the word goes on.
        } else if let Some((ns, ts)) = open.take() {
            spans.push((ns, norm.len(), ts, last_end));
        }
    }
    if let Some((ns, ts)) = open {
        spans.push((ns, norm.len(), ts, last_end));
    }
    (norm, spans)
}

fn phrases(text: &str, f: &mut Findings, wrap: bool) {
    let (norm, spans) = words(text);
    let words: Vec<&str> = spans.iter().map(|&(a, b, _, _)| &norm[a..b]).collect();
    let mut i = 0;
    while i < words.len() {
        let first = words[i].as_bytes()[0];
        let mut mask = if first < 128 {
            FIRST[first as usize] & LEN[words[i].len().min(31)]
        } else {
            0
        };
        // The heaviest (then longest) phrase starting here wins; matches
        // do not overlap, so one sentence is not counted twice.
        let mut best: Option<(u32, usize, &'static str)> = None;
        while mask != 0 {
            let p = &PHRASES[mask.trailing_zeros() as usize];
            mask &= mask - 1;
            if let Some(end) = match_at(p.slots, &words, i)
                && best.is_none_or(|(w, e, _)| (p.weight, end) > (w, e))
            {
                best = Some((p.weight, end, p.label));
            }
        }
        let Some((weight, end, label)) = best else {
            i += 1;
            continue;
        };
        let (start_byte, end_byte) = (spans[i].2, spans[end - 1].3);
        // Already quoted by an earlier pass of this filter: data, not a
        // signal (keeps the rewrite stable if it is inspected again).
        let quoted = text[..start_byte].ends_with('«') && text[end_byte..].starts_with('»');
        if !quoted {
            f.add(label, weight);
            if wrap {
                f.edit(start_byte, start_byte, "«");
                f.edit(end_byte, end_byte, "»");
            }
        }
        i = end;
    }
}

/// Where the line starting at `from` ends (after its terminator): a real
/// newline, or the two-character escape `\n` of a JSON string, whose
/// "lines" a model reads as lines all the same.
fn line_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'\n' => return i + 1,
            b'\\' if b.get(i + 1) == Some(&b'n') => return i + 2,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    b.len()
}

/// Chat-transcript role labels at the start of a line (`system:`,
/// `### Instruction`), after indentation or a `>` quote.
fn role_markers(text: &str, f: &mut Findings) {
    let b = text.as_bytes();
    let mut line = 0;
    while line < b.len() {
        let next = line_end(b, line);
        let mut p = line;
        while p < next && matches!(b[p], b' ' | b'\t' | b'>') {
            p += 1;
        }
        let hashes = p;
        while p < next && b[p] == b'#' {
            p += 1;
        }
        let heading = p > hashes;
        while p < next && matches!(b[p], b' ' | b'\t') {
            p += 1;
        }
        let w = p;
        while p < next && b[p].is_ascii_alphabetic() {
            p += 1;
        }
        let word = text[w..p].to_ascii_lowercase();
        let mut q = p;
        while q < next && b[q] == b' ' {
            q += 1;
        }
        let colon = b.get(q) == Some(&b':');
        let weight = match (heading, colon, word.as_str()) {
            (true, _, "instruction" | "instructions" | "system") => 2,
            (false, true, "system" | "assistant" | "developer") => 2,
            (false, true, "user" | "human") => 1,
            _ => 0,
        };
        if weight > 0 {
            f.add("role-marker", weight);
            f.edit(w, p, format!("[{}]", &text[w..p]));
        }
        line = next;
    }
}

/// Chat-template control tokens anywhere: `<|im_start|>`, `[INST]`,
/// `<<SYS>>`, `<system>`. Rewritten so no tokenizer or template parser
/// can take them for the real thing.
fn special_tokens(text: &str, f: &mut Findings) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != b'<' && c != b'[' {
            i += 1;
            continue;
        }
        let rest = &b[i..];
        let starts =
            |lit: &[u8]| rest.len() >= lit.len() && rest[..lit.len()].eq_ignore_ascii_case(lit);
        let (len, weight, with): (usize, u32, String) = if rest.starts_with(b"<|") {
            let name_end = rest[2..]
                .iter()
                .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
                .map_or(rest.len(), |n| n + 2);
            if (3..=42).contains(&name_end) && rest[name_end..].starts_with(b"|>") {
                let name = &text[i + 2..i + name_end];
                (name_end + 2, 3, format!("[{name}]"))
            } else {
                (0, 0, String::new())
            }
        } else if starts(b"[inst]") {
            (6, 3, "(INST)".into())
        } else if starts(b"[/inst]") {
            (7, 3, "(/INST)".into())
        } else if starts(b"<<sys>>") {
            (7, 3, "(SYS)".into())
        } else if starts(b"<</sys>>") {
            (8, 3, "(/SYS)".into())
        } else if starts(b"<system>") || starts(b"<instructions>") {
            let n = if starts(b"<system>") { 8 } else { 14 };
            (n, 2, format!("[{}]", &text[i + 1..i + n - 1]))
        } else if starts(b"</system>") || starts(b"</instructions>") {
            let n = if starts(b"</system>") { 9 } else { 15 };
            (n, 2, format!("[{}]", &text[i + 1..i + n - 1]))
        } else {
            (0, 0, String::new())
        };
        if len == 0 {
            i += 1;
            continue;
        }
        f.add("special-token", weight);
        f.edit(i, i + len, with);
        i += len;
    }
}

/// Characters that hide text from the human reader: zero-width characters
/// splitting ASCII words, bidi overrides and isolates, and Unicode tag
/// characters (invisible ASCII, "ASCII smuggling", which is also decoded
/// and scanned). All are removed by the rewrite; ZWJ/ZWNJ next to
/// non-ASCII (emoji, Persian, Indic) and tags of flag emoji are kept.
fn hidden(text: &str, f: &mut Findings) {
    let (mut zero_width, mut bidi) = (false, false);
    let mut smuggled = String::new();
    let mut prev: Option<char> = None;
    let mut in_flag = false;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let next = it.peek().map(|&(_, n)| n);
        let end = i + c.len_utf8();
        if is_tag(c) {
            if in_flag {
                in_flag = c != '\u{e007f}';
            } else {
                if let Some(ascii) = char::from_u32(c as u32 - 0xe0000).filter(|a| !a.is_control())
                {
                    smuggled.push(ascii);
                }
                f.edit(i, end, "");
            }
            prev = Some(c);
            continue;
        }
        in_flag = c == '\u{1f3f4}';
        if is_bidi_control(c) {
            bidi = true;
            f.edit(i, end, "");
        } else if WORD_JOINERS.contains(&c) {
            let ascii_around =
                prev.is_none_or(|p| p.is_ascii()) && next.is_none_or(|n| n.is_ascii());
            let keep = matches!(c, '\u{200c}' | '\u{200d}') && !ascii_around;
            // A byte-order mark at the very start is an encoding artefact.
            let bom = c == '\u{feff}' && i == 0;
            if !keep && !bom {
                zero_width = true;
            }
            if !keep {
                f.edit(i, end, "");
            }
        }
        prev = Some(c);
    }
    if zero_width {
        f.add("zero-width-characters", 2);
    }
    if bidi {
        f.add("bidi-controls", 2);
    }
    if !smuggled.is_empty() {
        f.add("tag-characters", 3);
        let inner = scan(&smuggled, 1);
        f.score += inner.score;
    }
}

/// Long base64, hex or percent-encoded runs whose decoded text holds an
/// injection phrase: the run is replaced (a model decodes such runs).
fn encoded(text: &str, f: &mut Findings) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let is_run =
            |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_' | b'%');
        if !is_run(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_run(b[i]) {
            i += 1;
        }
        let mut end = i;
        while end < b.len() && b[end] == b'=' && end - i < 2 {
            end += 1;
        }
        let run = &b[start..end];
        if run.len() < 24 {
            continue;
        }
        let Some((kind, decoded)) = decode(run) else {
            continue;
        };
        let inner = scan(&decoded, 1);
        if inner.score > 0 {
            f.add(kind, 2 + inner.score);
            f.edit(start, end, format!("[{kind} removed]"));
        }
        i = end;
    }
}

/// The run decoded as hex, percent-encoding or base64 (standard or URL
/// alphabet), when the result is mostly printable text.
fn decode(run: &[u8]) -> Option<(&'static str, String)> {
    let bytes = if run.len().is_multiple_of(2)
        && run.len() >= 32
        && run.iter().all(u8::is_ascii_hexdigit)
    {
        ("hex-encoded-instructions", hex(run)?)
    } else if run.iter().filter(|&&c| c == b'%').count() >= 6 {
        ("percent-encoded-instructions", percent(run))
    } else {
        ("base64-encoded-instructions", base64(run)?)
    };
    let text = String::from_utf8_lossy(&bytes.1);
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    (printable * 10 >= text.chars().count() * 9).then(|| (bytes.0, text.into_owned()))
}

fn nibble(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn hex(run: &[u8]) -> Option<Vec<u8>> {
    run.chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

fn percent(run: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(run.len());
    let mut i = 0;
    while i < run.len() {
        match (
            run[i],
            run.get(i + 1).and_then(|&c| nibble(c)),
            run.get(i + 2).and_then(|&c| nibble(c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(h << 4 | l);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn base64(run: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(run.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in run {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// `text` with the edits applied (sorted by position; an edit overlapping
/// one already applied is dropped).
pub fn apply(text: &str, edits: &mut [Edit]) -> String {
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(text.len() + edits.len() * 4);
    let mut pos = 0;
    for e in edits.iter() {
        if e.start < pos {
            continue;
        }
        // Edits come from char_indices and ASCII matches: char boundaries.
        out.push_str(text.get(pos..e.start).unwrap_or_default());
        out.push_str(&e.with);
        pos = e.end;
    }
    out.push_str(text.get(pos..).unwrap_or_default());
    out
}
