//! A tolerant HTML tokenizer: text, start and end tags, nothing else.
//!
//! It never fails and never panics on any input (the fuzz-ish test feeds it
//! every prefix of a page): anything it cannot read as a tag is text, an
//! unterminated comment or tag runs to the end of the input. Comments,
//! doctypes and processing instructions are skipped. The contents of the
//! raw-text elements (script, style, …) come back as one text token, so that a
//! `<` inside a script is never taken for a tag.

use std::borrow::Cow;

use super::entities;

#[derive(Debug, PartialEq)]
pub enum Token<'a> {
    /// Text as written (character references not yet decoded), except that
    /// raw-text contents are marked so the converter never decodes them.
    Text {
        text: &'a str,
        raw: bool,
    },
    Start(Tag<'a>),
    End(Cow<'a, str>),
}

#[derive(Debug, PartialEq)]
pub struct Tag<'a> {
    /// Lower-cased.
    pub name: Cow<'a, str>,
    /// Everything between the name and the closing `>`, parsed on demand by
    /// [`Tag::attr`]: most tags' attributes are never looked at.
    attrs: &'a str,
    pub self_closing: bool,
}

impl Tag<'_> {
    /// The value of attribute `name` (lower-case), entity-decoded.
    pub fn attr(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut rest = self.attrs;
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
            if rest.is_empty() {
                return None;
            }
            let name_len = rest
                .find(|c: char| c.is_ascii_whitespace() || matches!(c, '/' | '='))
                .unwrap_or(rest.len())
                // An attribute name of at least one character, even `=`,
                // so the loop always advances.
                .max(1);
            let (attr, after) = rest.split_at(name_len);
            let after = after.trim_start_matches(|c: char| c.is_ascii_whitespace());
            let (value, next) = match after.strip_prefix('=') {
                Some(v) => {
                    let v = v.trim_start_matches(|c: char| c.is_ascii_whitespace());
                    match v.chars().next() {
                        Some(q @ ('"' | '\'')) => {
                            let body = &v[1..];
                            match body.find(q) {
                                Some(end) => (&body[..end], &body[end + 1..]),
                                None => (body, ""),
                            }
                        }
                        _ => {
                            let end = v.find(|c: char| c.is_ascii_whitespace()).unwrap_or(v.len());
                            (&v[..end], &v[end..])
                        }
                    }
                }
                None => ("", after),
            };
            if attr.eq_ignore_ascii_case(name) {
                return Some(entities::decode(value));
            }
            rest = next;
        }
    }
}

/// Elements whose contents are text up to their end tag, never markup.
fn is_raw_text(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "xmp"
            | "iframe"
            | "noembed"
            | "noframes"
            | "noscript"
            | "textarea"
            | "title"
    )
}

pub struct Tokenizer<'a> {
    input: &'a str,
    pos: usize,
    /// Set after a raw-text start tag: the next token is its contents.
    raw_until: Option<Cow<'a, str>>,
}

impl<'a> Tokenizer<'a> {
    pub fn new(input: &'a str) -> Tokenizer<'a> {
        Tokenizer {
            input,
            pos: 0,
            raw_until: None,
        }
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    /// The contents of a raw-text element, up to `</name` (any case) followed
    /// by whitespace, `/` or `>`; the end tag itself comes next as a token.
    fn raw_text(&mut self, name: &str) -> Option<Token<'a>> {
        let rest = self.rest();
        let bytes = rest.as_bytes();
        let mut from = 0;
        let end = loop {
            let Some(at) = rest[from..].find("</") else {
                break rest.len();
            };
            let at = from + at;
            let name_end = at + 2 + name.len();
            let closes = rest
                .get(at + 2..name_end)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
                && bytes
                    .get(name_end)
                    .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>'));
            if closes {
                break at;
            }
            from = at + 2;
        };
        self.pos += end;
        (end > 0).then(|| Token::Text {
            text: &rest[..end],
            // RCDATA elements decode references; the rest are raw.
            raw: !matches!(name, "title" | "textarea"),
        })
    }

    /// After `<` + letter or `</` + letter: a tag up to its `>`.
    fn tag(&mut self, end_tag: bool) -> Token<'a> {
        let start = self.pos + if end_tag { 2 } else { 1 };
        let rest = &self.input[start..];
        let name_len = rest
            .find(|c: char| c.is_ascii_whitespace() || matches!(c, '/' | '>'))
            .unwrap_or(rest.len());
        let name = lower(&rest[..name_len]);
        let (attrs, consumed) = attributes_end(&rest[name_len..]);
        self.pos = start + name_len + consumed;
        if end_tag {
            return Token::End(name);
        }
        let self_closing = attrs.trim_end().ends_with('/');
        if is_raw_text(&name) && !self_closing {
            self.raw_until = Some(name.clone());
        }
        Token::Start(Tag {
            name,
            attrs,
            self_closing,
        })
    }

    /// Skips from the current `<` past the end of a comment (`<!--…-->`) or a
    /// bogus comment (`<!…>`, `<?…>`, `</ …>`).
    fn skip_comment(&mut self) {
        let rest = self.rest();
        let skip = if let Some(body) = rest.strip_prefix("<!--") {
            body.find("-->").map_or(rest.len(), |at| 4 + at + 3)
        } else {
            rest.find('>').map_or(rest.len(), |at| at + 1)
        };
        self.pos += skip;
    }
}

/// The attribute text before the tag's `>` (quotes respected, so `>` inside
/// a quoted value does not end the tag) and how many bytes the tag used.
fn attributes_end(s: &str) -> (&str, usize) {
    let mut quote = None;
    for (i, b) in s.bytes().enumerate() {
        match (quote, b) {
            (None, b'>') => return (&s[..i], i + 1),
            // Only a quote that starts a value opens a quoted run.
            (None, b'"' | b'\'') if s[..i].trim_end().ends_with('=') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            _ => {}
        }
    }
    (s, s.len())
}

/// The index of the first `<` after the first byte (a char boundary, being
/// ASCII), or the length: the first byte may start a multi-byte character.
fn next_lt(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .skip(1)
        .position(|&b| b == b'<')
        .map_or(bytes.len(), |at| at + 1)
}

fn lower(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        if let Some(name) = self.raw_until.take()
            && let Some(text) = self.raw_text(&name)
        {
            return Some(text);
        }
        loop {
            let rest = self.rest();
            if rest.is_empty() {
                return None;
            }
            let bytes = rest.as_bytes();
            if bytes[0] != b'<' {
                // Text up to the next `<` that could open something.
                let end = next_lt(bytes);
                self.pos += end;
                return Some(Token::Text {
                    text: &rest[..end],
                    raw: false,
                });
            }
            match bytes.get(1) {
                Some(b) if b.is_ascii_alphabetic() => return Some(self.tag(false)),
                Some(b'/') if bytes.get(2).is_some_and(u8::is_ascii_alphabetic) => {
                    return Some(self.tag(true));
                }
                Some(b'!' | b'?' | b'/') => self.skip_comment(),
                // A lone `<` (as in `a < b`) is text.
                _ => {
                    let end = next_lt(bytes);
                    self.pos += end;
                    return Some(Token::Text {
                        text: &rest[..end],
                        raw: false,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(html: &str) -> Vec<String> {
        Tokenizer::new(html)
            .map(|t| match t {
                Token::Text { text, .. } => format!("T({text})"),
                Token::Start(tag) => format!("S({})", tag.name),
                Token::End(name) => format!("E({name})"),
            })
            .collect()
    }

    #[test]
    fn splits_tags_text_and_skips_comments() {
        assert_eq!(
            kinds("<!DOCTYPE html><P Class=x>a<!-- <b> -->b</P>c < d<?php x ?>"),
            ["S(p)", "T(a)", "T(b)", "E(p)", "T(c )", "T(< d)"]
        );
    }

    #[test]
    fn script_contents_are_one_raw_token() {
        let tokens: Vec<_> =
            Tokenizer::new("<script>if (a </b) x = '</scripty>';</SCRIPT ><i>").collect();
        assert_eq!(
            tokens[1],
            Token::Text {
                text: "if (a </b) x = '</scripty>';",
                raw: true
            }
        );
        assert_eq!(tokens[2], Token::End("script".into()));
        assert!(matches!(&tokens[3], Token::Start(t) if t.name == "i"));
    }

    #[test]
    fn attributes_are_found_in_every_quoting_style() {
        let tokens: Vec<_> = Tokenizer::new(
            r#"<a data-x="1 > 2" HREF='/a?b=1&amp;c=2' title=plain checked alt="">"#,
        )
        .collect();
        let Some(Token::Start(tag)) = tokens.first() else {
            panic!("{tokens:?}");
        };
        assert_eq!(tag.attr("href").as_deref(), Some("/a?b=1&c=2"));
        assert_eq!(tag.attr("title").as_deref(), Some("plain"));
        assert_eq!(tag.attr("checked").as_deref(), Some(""));
        assert_eq!(tag.attr("alt").as_deref(), Some(""));
        assert_eq!(tag.attr("data-x").as_deref(), Some("1 > 2"));
        assert_eq!(tag.attr("src"), None);
        assert_eq!(tokens.len(), 1);
    }

    #[test]
    fn unterminated_constructs_run_to_the_end() {
        assert_eq!(kinds("a<!-- never closed <p>"), ["T(a)"]);
        assert_eq!(kinds("<p class=\"open"), ["S(p)"]);
        assert_eq!(kinds("<style>body{}"), ["S(style)", "T(body{})"]);
        assert_eq!(kinds("x</"), ["T(x)"]);
    }
}
