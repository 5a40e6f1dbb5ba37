//! Telegram refuses a message longer than 4096 characters, counted in
//! UTF-16 code units. Long answers go out in several messages, cut at a
//! paragraph, line or word boundary where there is one in the second half
//! of a piece, and never inside a character (so never between the two
//! halves of a surrogate pair, as an emoji is in UTF-16).

/// Telegram's limit for one message's text.
pub const MAX_UTF16: usize = 4096;

/// `text` in pieces of at most `limit` UTF-16 code units, in order. The
/// whitespace a cut falls on is dropped; nothing else is.
pub fn split_utf16(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(2); // one character is at most two units
    let mut pieces = Vec::new();
    let mut rest = text;
    while utf16_len(rest) > limit {
        let fit = fitting_prefix(rest, limit);
        let cut = boundary(&rest[..fit]).unwrap_or(fit);
        let piece = rest[..cut].trim_end();
        if !piece.is_empty() {
            pieces.push(piece.to_string());
        }
        rest = rest[cut..].trim_start_matches(['\n', ' ', '\t', '\r']);
    }
    if !rest.trim().is_empty() || pieces.is_empty() {
        pieces.push(rest.to_string());
    }
    pieces
}

pub fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Byte length of the longest prefix of whole characters that fits.
fn fitting_prefix(text: &str, limit: usize) -> usize {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > limit {
            return i;
        }
    }
    text.len()
}

/// Where to cut `prefix` (a byte offset at a boundary), preferring a blank
/// line, then a line break, then a space, each only when it leaves the
/// piece at least half full; `None` means cut at the end of the prefix.
fn boundary(prefix: &str) -> Option<usize> {
    let half = prefix.len() / 2;
    ["\n\n", "\n", " "]
        .iter()
        .find_map(|sep| prefix.rfind(sep).filter(|&i| i >= half && i > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_fit(pieces: &[String], limit: usize) {
        for p in pieces {
            assert!(utf16_len(p) <= limit, "{} > {limit}: {p:?}", utf16_len(p));
            assert!(!p.is_empty());
        }
    }

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split_utf16("hello", MAX_UTF16), vec!["hello"]);
        assert_eq!(split_utf16("", MAX_UTF16), vec![""]);
        let exact = "a".repeat(MAX_UTF16);
        assert_eq!(split_utf16(&exact, MAX_UTF16), vec![exact.clone()]);
    }

    #[test]
    fn prefers_paragraphs_then_lines_then_words() {
        let text = format!(
            "{}\n\n{}\n{}",
            "a".repeat(60),
            "b".repeat(20),
            "c".repeat(30)
        );
        let pieces = split_utf16(&text, 100);
        assert_eq!(pieces[0], "a".repeat(60));
        assert_eq!(pieces[1], format!("{}\n{}", "b".repeat(20), "c".repeat(30)));

        let words = vec!["word"; 50].join(" ");
        let pieces = split_utf16(&words, 42);
        all_fit(&pieces, 42);
        assert!(pieces.iter().all(|p| p.split(' ').all(|w| w == "word")));
        assert_eq!(pieces.join(" ").split(' ').count(), 50);
    }

    #[test]
    fn hard_cut_without_whitespace_keeps_everything() {
        let text = "x".repeat(10_000);
        let pieces = split_utf16(&text, MAX_UTF16);
        assert_eq!(pieces.len(), 3);
        all_fit(&pieces, MAX_UTF16);
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn never_splits_a_surrogate_pair_at_the_boundary() {
        // 4095 units of ASCII then an emoji (two units): it cannot fit in
        // the first piece, so the piece stops before it.
        let text = format!("{}😀{}", "a".repeat(4095), "b".repeat(10));
        let pieces = split_utf16(&text, MAX_UTF16);
        assert_eq!(
            pieces,
            vec!["a".repeat(4095), format!("😀{}", "b".repeat(10))]
        );
        // All emoji: every piece holds whole pairs only.
        let emoji = "🎉".repeat(3000); // 6000 units
        let pieces = split_utf16(&emoji, MAX_UTF16);
        all_fit(&pieces, MAX_UTF16);
        assert_eq!(pieces[0].chars().count(), 2048);
        assert_eq!(pieces.concat(), emoji);
    }

    #[test]
    fn counts_utf16_not_bytes_or_chars() {
        // "é" is 2 bytes, 1 unit: 4096 of them fit in one message.
        let text = "é".repeat(4096);
        assert_eq!(split_utf16(&text, MAX_UTF16).len(), 1);
        assert_eq!(utf16_len("😀a"), 3);
    }

    #[test]
    fn a_boundary_too_early_is_not_taken() {
        // The only space is at the very start: cutting there would send a
        // one-word message; cut hard instead.
        let text = format!("hi {}", "z".repeat(200));
        let pieces = split_utf16(&text, 100);
        all_fit(&pieces, 100);
        assert_eq!(pieces[0].len(), 100);
    }
}
