//! A percent-decoded view of the input, with a map back to the original
//! offsets.
//!
//! Rather than adding a needle for every way of percent-encoding a value
//! (everything encoded, only reserved bytes, upper or lower hex, any mix),
//! the scanner decodes `%XX` escapes once and searches the decoded bytes.
//! A match there that spans at least one escape is a percent-encoded leak;
//! its range is mapped back onto the original input for reporting and
//! redaction. Only one level is decoded: `%2541` becomes `%41`, not `A`.

use std::ops::Range;

use zeroize::Zeroizing;

pub(super) struct DecodedView {
    /// The decoded bytes. They may hold a decoded secret, so they are
    /// zeroized like every other buffer the scanner builds.
    pub bytes: Zeroizing<Vec<u8>>,
    /// `origin[i]` is the offset in the original input where decoded byte
    /// `i` starts; `origin[bytes.len()]` is the original length.
    origin: Vec<usize>,
}

impl DecodedView {
    /// The original range a decoded range came from.
    pub fn original(&self, decoded: &Range<usize>) -> Range<usize> {
        self.origin[decoded.start]..self.origin[decoded.end]
    }
}

/// Decodes `%XX` escapes, and `+` as a space when `plus_as_space` is set
/// (form encoding; only worth doing when some secret contains a space).
/// `None` when nothing in the input was decoded, which is the common case
/// and costs one `memchr` pass.
pub(super) fn decode(hay: &[u8], plus_as_space: bool) -> Option<DecodedView> {
    let next_escape = |from: usize| {
        let rest = &hay[from..];
        let found = if plus_as_space {
            memchr::memchr2(b'%', b'+', rest)
        } else {
            memchr::memchr(b'%', rest)
        };
        found.map(|i| from + i)
    };
    let mut at = next_escape(0)?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(hay.len()));
    let mut origin = Vec::with_capacity(hay.len() + 1);
    let mut copied_to = 0;
    let mut decoded_any = false;
    loop {
        // Plain bytes are copied in runs between escapes.
        bytes.extend_from_slice(&hay[copied_to..at]);
        origin.extend(copied_to..at);
        origin.push(at);
        let width = match hay[at] {
            b'%' => match hex_pair(hay.get(at + 1..at + 3)) {
                Some(byte) => {
                    bytes.push(byte);
                    3
                }
                None => {
                    bytes.push(b'%');
                    1
                }
            },
            _ => {
                bytes.push(b' ');
                1
            }
        };
        decoded_any |= width == 3 || hay[at] == b'+';
        copied_to = at + width;
        match next_escape(copied_to) {
            Some(next) => at = next,
            None => break,
        }
    }
    bytes.extend_from_slice(&hay[copied_to..]);
    origin.extend(copied_to..=hay.len());
    decoded_any.then_some(DecodedView { bytes, origin })
}

fn hex_pair(pair: Option<&[u8]>) -> Option<u8> {
    let [hi, lo] = pair? else {
        return None;
    };
    Some(hex_digit(*hi)? << 4 | hex_digit(*lo)?)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_decode_is_none() {
        assert!(decode(b"plain text, 100 percent", false).is_none());
        assert!(decode(b"100% sure, %zz", false).is_none());
        assert!(decode(b"a+b", false).is_none());
    }

    #[test]
    fn decodes_escapes_in_either_case_and_maps_back() {
        let hay = b"q=a%2fb%2Fc&x=%41";
        let view = decode(hay, false);
        assert!(view.is_some());
        let Some(view) = view else { return };
        assert_eq!(view.bytes.as_slice(), b"q=a/b/c&x=A");
        // "a/b/c" in the decoded view is bytes 2..7.
        assert_eq!(view.original(&(2..7)), 2..11);
        // The final "A" came from "%41".
        assert_eq!(view.original(&(10..11)), 14..17);
    }

    #[test]
    fn plus_is_a_space_only_when_asked() {
        let view = decode(b"my+pass%21", true);
        assert_eq!(view.map(|v| v.bytes.to_vec()), Some(b"my pass!".to_vec()));
        let view = decode(b"my+pass%21", false);
        assert_eq!(view.map(|v| v.bytes.to_vec()), Some(b"my+pass!".to_vec()));
    }

    #[test]
    fn truncated_escape_at_the_end_is_kept() {
        let view = decode(b"%41%4", false);
        assert_eq!(view.map(|v| v.bytes.to_vec()), Some(b"A%4".to_vec()));
    }
}
