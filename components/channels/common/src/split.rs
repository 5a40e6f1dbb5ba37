//! Cutting a long reply into messages a provider accepts.
//!
//! Limits are counted in Unicode scalar values (Rust `char`s), which is what
//! Slack's 4 000-character guidance and WhatsApp's 4 096-character text body
//! limit count. A cut prefers, in order: a blank line, a line break, a
//! space; only a single word longer than the limit is cut mid-word. The
//! separator at a cut is dropped; nothing else is lost or reordered.

/// `text` in parts of at most `limit` characters each. Empty text gives no
/// parts. `limit` of 0 is treated as 1 so the loop always advances.
pub fn split_text(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(1);
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some((window_end, _)) = rest.char_indices().nth(limit) else {
            // The rest fits.
            push_part(&mut parts, rest);
            break;
        };
        let window = &rest[..window_end];
        let (cut, skip) = best_cut(window).unwrap_or((window_end, 0));
        push_part(&mut parts, &rest[..cut]);
        rest = &rest[cut + skip..];
    }
    parts
}

/// Where to cut inside `window` (byte offset) and how many separator
/// bytes to drop there. A cut in the first quarter of the window would
/// leave a tiny part, so a weaker separator further on is preferred.
fn best_cut(window: &str) -> Option<(usize, usize)> {
    let floor = window.len() / 4;
    for sep in ["\n\n", "\n", " "] {
        if let Some(i) = window.rfind(sep)
            && i > floor
        {
            return Some((i, sep.len()));
        }
    }
    None
}

fn push_part(parts: &mut Vec<String>, part: &str) {
    // A part of nothing but the whitespace around a cut says nothing.
    if !part.trim().is_empty() {
        parts.push(part.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> usize {
        s.chars().count()
    }

    #[test]
    fn short_text_is_one_part_and_empty_none() {
        assert_eq!(split_text("hello", 10), ["hello"]);
        assert_eq!(split_text("exactly10!", 10), ["exactly10!"]);
        assert!(split_text("", 10).is_empty());
        assert!(split_text("   ", 10).is_empty());
    }

    #[test]
    fn prefers_paragraphs_then_lines_then_words() {
        let text = "first para line\n\nsecond para";
        assert_eq!(split_text(text, 20), ["first para line", "second para"]);
        let text = "line one here\nline two";
        assert_eq!(split_text(text, 16), ["line one here", "line two"]);
        let text = "alpha beta gamma delta";
        assert_eq!(split_text(text, 12), ["alpha beta", "gamma delta"]);
    }

    #[test]
    fn a_word_longer_than_the_limit_is_cut() {
        assert_eq!(split_text("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn counts_characters_not_bytes() {
        // 6 two-byte and 2 four-byte characters: cut by characters, never
        // inside one.
        let text = "ééééé😀😀é";
        let parts = split_text(text, 3);
        assert_eq!(parts, ["ééé", "éé😀", "😀é"]);
        assert!(parts.iter().all(|p| chars(p) <= 3));
    }

    #[test]
    fn long_reply_respects_limit_and_loses_only_separators() {
        let words: Vec<String> = (0..3000).map(|i| format!("w{i}")).collect();
        let text = words.join(" ");
        let parts = split_text(&text, 4000);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| chars(p) <= 4000));
        assert_eq!(parts.join(" "), text);
    }

    #[test]
    fn a_separator_too_early_is_not_used() {
        // The only space is at index 1: cutting there would leave "a".
        let text = "a bcdefghijkl";
        assert_eq!(split_text(text, 8), ["a bcdefg", "hijkl"]);
    }
}
