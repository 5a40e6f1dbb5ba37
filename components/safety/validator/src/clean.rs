//! Characters that have no business in a message: they hide text from a
//! human reader while a model still reads it (zero-width, tags), reorder
//! what is displayed (bidi overrides, "Trojan Source"), or drive a terminal
//! (escape sequences, other control codes).

const ESC: char = '\u{1b}';
const ZWNJ: char = '\u{200c}';
const ZWJ: char = '\u{200d}';
/// WAVING BLACK FLAG: starts the emoji tag sequences of subdivision flags
/// (England, Scotland, Wales), the one legitimate use of tag characters.
const BLACK_FLAG: char = '\u{1f3f4}';

/// Removed wherever they appear.
pub fn always_removed(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => false,
        '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        // Bidi embeddings, overrides and isolates.
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        // Zero width space, word joiner, invisible operators, BOM / ZWNBSP,
        // Mongolian vowel separator, interlinear annotation controls.
        '\u{200b}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{180e}' => true,
        '\u{fff9}'..='\u{fffb}' => true,
        _ => false,
    }
}

fn is_tag(c: char) -> bool {
    ('\u{e0000}'..='\u{e007f}').contains(&c)
}

/// `content` without the characters above, or `None` when there is none
/// (so clean text is allowed as it is, never "redacted" to itself).
///
/// Kept: ZWJ/ZWNJ next to a non-ASCII character (emoji sequences, Persian
/// and Indic scripts need them); tag characters right after a black flag.
pub fn strip(content: &str) -> Option<String> {
    let first = first_drop(content)?;
    let mut out = String::with_capacity(content.len());
    out.push_str(&content[..first]);
    let mut rest = content[first..].char_indices().peekable();
    let mut in_flag = false;
    while let Some((j, c)) = rest.next() {
        let i = first + j;
        if c == ESC {
            skip_escape(&mut rest);
            continue;
        }
        if is_tag(c) {
            // Inside a flag sequence since the black flag (kept).
            if in_flag {
                out.push(c);
                in_flag = c != '\u{e007f}';
            }
            continue;
        }
        in_flag = c == BLACK_FLAG;
        if !drop_at(content, i, c) {
            out.push(c);
        }
    }
    Some(out)
}

/// The first character to drop. Scans bytes and decodes only at the lead
/// bytes those characters can have (C0/DEL, 0xC2 for C1, 0xE1/0xE2/0xEF for
/// the U+1xxx/U+2xxx/U+FEFF-FFFB ones, 0xF3 for tags), so ordinary text in
/// any script costs one byte comparison per byte.
fn first_drop(content: &str) -> Option<usize> {
    let bytes = content.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let candidate = matches!(b, 0..=0x1f | 0x7f | 0xc2 | 0xe1 | 0xe2 | 0xef | 0xf3);
        if candidate
            && let Some(c) = content.get(i..).and_then(|rest| rest.chars().next())
            && drop_at(content, i, c)
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn drop_at(content: &str, i: usize, c: char) -> bool {
    if always_removed(c) {
        return true;
    }
    if is_tag(c) {
        return !flag_tag(content, i);
    }
    if c == ZWJ || c == ZWNJ {
        let before = content[..i].chars().next_back();
        let after = content[i + c.len_utf8()..].chars().next();
        return before.is_none_or(|b| b.is_ascii()) && after.is_none_or(|a| a.is_ascii());
    }
    false
}

/// Whether the tag character at `i` continues a flag sequence: only tags
/// back to a black flag.
fn flag_tag(content: &str, i: usize) -> bool {
    for c in content[..i].chars().rev() {
        if c == BLACK_FLAG {
            return true;
        }
        if !is_tag(c) || c == '\u{e007f}' {
            return false;
        }
    }
    false
}

/// After ESC: a CSI sequence (`ESC [ params final`) or an OSC string
/// (`ESC ] … BEL` or `ESC ] … ESC \`) goes with it, so no `[31m`
/// debris is left behind; otherwise one following character in @..=_.
fn skip_escape(it: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    match it.peek().map(|&(_, c)| c) {
        Some('[') => {
            it.next();
            while let Some(&(_, c)) = it.peek() {
                if !('\u{20}'..='\u{3f}').contains(&c) {
                    break;
                }
                it.next();
            }
            if it
                .peek()
                .is_some_and(|&(_, c)| ('\u{40}'..='\u{7e}').contains(&c))
            {
                it.next();
            }
        }
        Some(']') => {
            it.next();
            while let Some((_, c)) = it.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == ESC {
                    if it.peek().is_some_and(|&(_, c)| c == '\\') {
                        it.next();
                    }
                    break;
                }
            }
        }
        Some(c) if ('\u{40}'..='\u{5f}').contains(&c) => {
            it.next();
        }
        _ => {}
    }
}

/// A warning when U+FFFD comes in runs of [`super::FFFD_RUN`] or more.
pub fn fffd_runs(content: &str) -> Option<String> {
    let (mut run, mut runs, mut total) = (0usize, 0usize, 0usize);
    for c in content.chars() {
        if c == '\u{fffd}' {
            run += 1;
            total += 1;
            if run == super::FFFD_RUN {
                runs += 1;
            }
        } else {
            run = 0;
        }
    }
    (runs > 0).then(|| {
        format!("{total} U+FFFD replacement characters ({runs} runs): text decoded with the wrong encoding or binary data")
    })
}
