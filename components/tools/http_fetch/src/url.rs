//! Resolving a page's links against its URL (RFC 3986 §5.2), without the
//! weight of a full URL crate: hosts are taken as written, never normalised,
//! and only the reference forms real pages use are told apart.

/// An absolute `scheme://authority/path?query` URL to resolve against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    scheme: String,
    authority: String,
    path: String,
    query: Option<String>,
}

/// The scheme of `s` (`[A-Za-z][A-Za-z0-9+.-]*:`), lower-cased, if it has one.
pub fn scheme(s: &str) -> Option<String> {
    let colon = s.find(':')?;
    let name = &s[..colon];
    let mut chars = name.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then(|| name.to_ascii_lowercase())
}

/// `s` without its `#fragment`.
fn without_fragment(s: &str) -> &str {
    s.split_once('#').map_or(s, |(before, _)| before)
}

/// `path?query` split at the first `?`.
fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (s, None),
    }
}

impl Base {
    /// An absolute URL with an authority (`https://host/…`), else `None`.
    pub fn parse(url: &str) -> Option<Base> {
        let scheme = scheme(url)?;
        let rest = url[scheme.len() + 1..].strip_prefix("//")?;
        let rest = without_fragment(rest);
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_query) = rest.split_at(split);
        if authority.is_empty() {
            return None;
        }
        let (path, query) = split_query(path_query);
        Some(Base {
            scheme,
            authority: authority.to_string(),
            path: if path.is_empty() { "/" } else { path }.to_string(),
            query: query.map(str::to_string),
        })
    }

    fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// `reference` made absolute against this base. `None` for the schemes
    /// that are not places to go (`javascript:`, `data:`, `vbscript:`).
    pub fn resolve(&self, reference: &str) -> Option<String> {
        // Browsers drop ASCII tabs and newlines anywhere in a URL and trim
        // surrounding whitespace; pages rely on both when they wrap attributes.
        let cleaned: String = reference
            .trim_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control())
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        let r = cleaned.as_str();
        if let Some(s) = scheme(r) {
            return (!matches!(s.as_str(), "javascript" | "data" | "vbscript"))
                .then(|| r.to_string());
        }
        if r.starts_with("//") {
            return Some(format!("{}:{r}", self.scheme));
        }
        let (r_main, fragment) = match r.split_once('#') {
            Some((main, f)) => (main, Some(f)),
            None => (r, None),
        };
        let (r_path, r_query) = split_query(r_main);
        let (path, query) = if r_path.is_empty() {
            (
                self.path.clone(),
                r_query.map(str::to_string).or_else(|| self.query.clone()),
            )
        } else if r_path.starts_with('/') {
            (remove_dot_segments(r_path), r_query.map(str::to_string))
        } else {
            let dir = &self.path[..self.path.rfind('/').map_or(0, |i| i + 1)];
            (
                remove_dot_segments(&format!("{dir}{r_path}")),
                r_query.map(str::to_string),
            )
        };
        let mut out = self.origin();
        out.push_str(if path.is_empty() { "/" } else { &path });
        if let Some(q) = query {
            out.push('?');
            out.push_str(&q);
        }
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(f);
        }
        Some(out)
    }
}

/// RFC 3986 §5.2.4: `/a/b/../c/./d` → `/a/c/d`; never climbs above the root.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if path.starts_with('/') && !joined.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Base {
        Base::parse("https://example.com/docs/guide/intro.html?v=1#top").expect("base")
    }

    #[test]
    fn resolves_every_reference_form() {
        let b = base();
        for (reference, expected) in [
            ("setup.html", "https://example.com/docs/guide/setup.html"),
            ("./setup.html", "https://example.com/docs/guide/setup.html"),
            ("../api/", "https://example.com/docs/api/"),
            ("../../../../up", "https://example.com/up"),
            ("/abs/path?q=1", "https://example.com/abs/path?q=1"),
            (
                "?page=2",
                "https://example.com/docs/guide/intro.html?page=2",
            ),
            (
                "#install",
                "https://example.com/docs/guide/intro.html?v=1#install",
            ),
            ("", "https://example.com/docs/guide/intro.html?v=1"),
            ("//cdn.example.net/x.js", "https://cdn.example.net/x.js"),
            ("HTTP://Other.example/A", "HTTP://Other.example/A"),
            ("mailto:a@example.com", "mailto:a@example.com"),
            ("  /spaced\n/path  ", "https://example.com/spaced/path"),
            ("a/./b/../c", "https://example.com/docs/guide/a/c"),
            ("..", "https://example.com/docs/"),
        ] {
            assert_eq!(
                b.resolve(reference).as_deref(),
                Some(expected),
                "{reference}"
            );
        }
    }

    #[test]
    fn refuses_script_and_data_urls() {
        let b = base();
        assert_eq!(b.resolve("javascript:alert(1)"), None);
        assert_eq!(b.resolve(" JavaScript:void(0)"), None);
        assert_eq!(b.resolve("data:text/html,<b>x</b>"), None);
    }

    #[test]
    fn base_urls_need_an_authority() {
        assert_eq!(Base::parse("mailto:x@y"), None);
        assert_eq!(Base::parse("https:///path"), None);
        let root = Base::parse("http://h.example").expect("base");
        assert_eq!(root.resolve("x").as_deref(), Some("http://h.example/x"));
    }
}
