//! What a response body is (HTML, other text, binary) and how to read it as
//! text.

/// How the tool treats a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Html,
    Text,
    Binary,
}

/// A `Content-Type`: the lower-cased essence (`text/html`) and the charset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    pub mime: String,
    pub charset: Option<String>,
}

impl ContentType {
    /// Parses a `Content-Type` header value; `None` when it names no type.
    pub fn parse(value: &str) -> Option<ContentType> {
        let mut parts = value.split(';');
        let mime = parts.next()?.trim().to_ascii_lowercase();
        if !mime.contains('/') {
            return None;
        }
        let charset = parts.find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| v.trim().trim_matches(['"', '\'']).to_ascii_lowercase())
        });
        Some(ContentType { mime, charset })
    }

    /// The type of a body sent without one, guessed from its first bytes.
    pub fn sniff(body: &[u8]) -> ContentType {
        let head = &body[..body.len().min(1024)];
        let start = String::from_utf8_lossy(head)
            .trim_start()
            .to_ascii_lowercase();
        let mime = if start.starts_with("<!doctype html") || start.starts_with("<html") {
            "text/html"
        } else if looks_binary(body) {
            "application/octet-stream"
        } else {
            "text/plain"
        };
        ContentType {
            mime: mime.to_string(),
            charset: None,
        }
    }

    pub fn kind(&self) -> Kind {
        let mime = self.mime.as_str();
        let (top, sub) = mime.split_once('/').unwrap_or((mime, ""));
        match (top, sub) {
            ("text", "html") | ("application", "xhtml+xml") => Kind::Html,
            ("text", _) => Kind::Text,
            ("application", sub)
                if sub.ends_with("+json")
                    || sub.ends_with("+xml")
                    || matches!(
                        sub,
                        "json"
                            | "xml"
                            | "javascript"
                            | "ecmascript"
                            | "x-javascript"
                            | "x-ndjson"
                            | "ndjson"
                            | "yaml"
                            | "x-yaml"
                            | "toml"
                            | "csv"
                            | "sql"
                            | "graphql"
                            | "x-sh"
                            | "x-www-form-urlencoded"
                    ) =>
            {
                Kind::Text
            }
            _ => Kind::Binary,
        }
    }
}

/// NUL bytes in the first 8 KiB: no text format the tool reads has them.
pub fn looks_binary(body: &[u8]) -> bool {
    body[..body.len().min(8192)].contains(&0)
}

/// `charset=` from a `<meta>` in the first 1 KiB of an HTML page, the
/// place HTML says to declare it when the header does not.
pub fn meta_charset(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = head[from..].find("<meta") {
        let tag_start = from + at;
        let tag_end = head[tag_start..]
            .find('>')
            .map_or(head.len(), |e| tag_start + e);
        let tag = &head[tag_start..tag_end];
        if let Some(i) = tag.find("charset=") {
            let value = tag[i + 8..].trim_start_matches(['"', '\'', ' ']);
            let end = value
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')))
                .unwrap_or(value.len());
            if end > 0 {
                return Some(value[..end].to_string());
            }
        }
        from = tag_end;
    }
    None
}

/// What windows-1252 puts at 0x80..=0x9F (Latin-1 has control codes there).
/// WHATWG maps the `iso-8859-1` and `us-ascii` labels to windows-1252 too,
/// because that is what pages labelled so actually contain.
const WINDOWS_1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

fn is_windows_1252(charset: &str) -> bool {
    matches!(
        charset,
        "windows-1252"
            | "cp1252"
            | "x-cp1252"
            | "iso-8859-1"
            | "iso8859-1"
            | "iso_8859-1"
            | "latin1"
            | "l1"
            | "us-ascii"
            | "ascii"
    )
}

/// The body as text. A byte-order mark wins over the declared charset (as in
/// browsers); UTF-8 is the default, windows-1252 and its aliases are decoded,
/// anything else is read as UTF-8 with U+FFFD for what does not fit.
pub fn decode(body: &[u8], charset: Option<&str>) -> String {
    if let Some(rest) = body.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if let Some(rest) = body.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    if let Some(rest) = body.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    match charset {
        Some(c) if is_windows_1252(c) => body
            .iter()
            .map(|&b| match b {
                0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
                _ => char::from(b),
            })
            .collect(),
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|p| unit([p[0], p[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(header: &str) -> Kind {
        ContentType::parse(header).map_or(Kind::Binary, |c| c.kind())
    }

    #[test]
    fn classifies_content_types() {
        assert_eq!(kind("text/html; charset=UTF-8"), Kind::Html);
        assert_eq!(kind("Application/XHTML+XML"), Kind::Html);
        for text in [
            "text/plain",
            "text/markdown",
            "text/csv",
            "application/json",
            "application/ld+json",
            "application/rss+xml",
            "application/javascript",
        ] {
            assert_eq!(kind(text), Kind::Text, "{text}");
        }
        for binary in [
            "image/png",
            "application/pdf",
            "application/octet-stream",
            "video/mp4",
        ] {
            assert_eq!(kind(binary), Kind::Binary, "{binary}");
        }
        assert_eq!(ContentType::parse("nonsense"), None);
    }

    #[test]
    fn reads_the_charset_parameter() {
        let c = ContentType::parse("text/html; Charset=\"ISO-8859-1\"").expect("type");
        assert_eq!(c.mime, "text/html");
        assert_eq!(c.charset.as_deref(), Some("iso-8859-1"));
    }

    #[test]
    fn sniffs_bodies_without_a_type() {
        assert_eq!(
            ContentType::sniff(b"  <!DOCTYPE html><p>x").mime,
            "text/html"
        );
        assert_eq!(ContentType::sniff(b"just words").mime, "text/plain");
        assert_eq!(
            ContentType::sniff(b"\x89PNG\r\n\x1a\n\0\0").mime,
            "application/octet-stream"
        );
    }

    #[test]
    fn decodes_charsets_and_byte_order_marks() {
        assert_eq!(decode(b"caf\xE9 \x93q\x94", Some("iso-8859-1")), "café “q”");
        assert_eq!(decode("café".as_bytes(), None), "café");
        assert_eq!(decode(b"\xEF\xBB\xBFbom", Some("windows-1252")), "bom");
        assert_eq!(decode(b"\xFF\xFEh\0i\0", None), "hi");
        assert_eq!(decode(b"\xFE\xFF\0h\0i", None), "hi");
        assert_eq!(decode(b"bad \xFF", Some("utf-8")), "bad \u{FFFD}");
    }

    #[test]
    fn finds_a_meta_charset() {
        assert_eq!(
            meta_charset(b"<html><head><META charset=\"Windows-1252\">").as_deref(),
            Some("windows-1252")
        );
        assert_eq!(
            meta_charset(
                b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">"
            )
            .as_deref(),
            Some("iso-8859-1")
        );
        assert_eq!(meta_charset(b"<meta name=x><p>charset=no"), None);
    }
}
