//! `SKILL.md`: a frontmatter between `---` lines, then a markdown body.
//!
//! ```markdown
//! ---
//! name: release-notes
//! version: 1.0.0
//! description: How to write release notes for this project.
//! keywords: [release notes, changelog]
//! tags:
//!   - writing
//! patterns: ["v\\d+\\.\\d+"]
//! requires-tools: [memory_read]
//! ---
//! Body: what the model should know or do.
//! ```
//!
//! The frontmatter is a small, strict subset of YAML parsed by hand: one
//! `key: value` per line, values plain or quoted (`'…'`, `"…"` with `\\`,
//! `\"`, `\n`, `\t`), lists as `[a, "b c"]` or as `- item` lines under the
//! key, `#` comments and blank lines. Anything else (nested maps, anchors,
//! multi-line scalars) is an error naming the line, so a skill never loads
//! with a field silently misread. We chose this over a YAML crate: the
//! format needs only strings and lists of strings, and the maintained YAML
//! crates pull in far more parser than that for a file any skill author can
//! write in the subset.

use semver::Version;

use super::{MAX_BODY_BYTES, MAX_LIST_ITEMS, MAX_SKILL_FILE_BYTES, SkillError};
use crate::registry::manifest::is_component_name;

/// The longest description, keyword, tag or pattern.
const MAX_FIELD_CHARS: usize = 512;

/// A parsed `SKILL.md` (patterns not compiled yet: see [`super::catalog`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillFile {
    pub name: String,
    pub version: Option<Version>,
    pub description: String,
    pub keywords: Vec<String>,
    pub tags: Vec<String>,
    pub patterns: Vec<String>,
    pub requires_tools: Vec<String>,
    /// The markdown after the frontmatter, trimmed.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Scalar(String),
    List(Vec<String>),
}

/// Parses `text`; `origin` (the file) names every error.
pub fn parse(text: &str, origin: &str) -> Result<SkillFile, SkillError> {
    let invalid = |field: &str, reason: String| SkillError::Invalid {
        path: origin.to_string(),
        field: field.to_string(),
        reason,
    };
    if text.len() > MAX_SKILL_FILE_BYTES {
        return Err(invalid(
            "file",
            format!(
                "{} bytes, over the {MAX_SKILL_FILE_BYTES}-byte limit",
                text.len()
            ),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return Err(invalid(
            "frontmatter",
            "the file must start with a `---` line, then the frontmatter, then `---`".into(),
        ));
    }
    let mut front = Vec::new();
    let mut closed = false;
    for line in lines.by_ref() {
        if line.trim_end() == "---" {
            closed = true;
            break;
        }
        front.push(line);
    }
    if !closed {
        return Err(invalid(
            "frontmatter",
            "no closing `---` line after the frontmatter".into(),
        ));
    }
    let body = lines.collect::<Vec<_>>().join("\n").trim().to_string();
    let fields = frontmatter(&front).map_err(|(line, reason)| {
        invalid(
            "frontmatter",
            format!("line {}: {reason}", line + 2), // +1 for the `---`, +1 one-based
        )
    })?;

    let mut skill = SkillFile {
        name: String::new(),
        version: None,
        description: String::new(),
        keywords: Vec::new(),
        tags: Vec::new(),
        patterns: Vec::new(),
        requires_tools: Vec::new(),
        body,
    };
    for (key, value) in fields {
        let scalar = |v: Value| match v {
            Value::Scalar(s) => Ok(s),
            Value::List(_) => Err(invalid(&key, "must be a single value, not a list".into())),
        };
        let list = |v: Value| -> Result<Vec<String>, SkillError> {
            let items = match v {
                Value::List(items) => items,
                // `keywords: deploy` is a one-item list.
                Value::Scalar(s) if s.is_empty() => Vec::new(),
                Value::Scalar(s) => vec![s],
            };
            if items.len() > MAX_LIST_ITEMS {
                return Err(invalid(
                    &key,
                    format!("{} items, at most {MAX_LIST_ITEMS}", items.len()),
                ));
            }
            for item in &items {
                if item.trim().is_empty() {
                    return Err(invalid(&key, "an item is empty".into()));
                }
                if item.chars().count() > MAX_FIELD_CHARS {
                    return Err(invalid(
                        &key,
                        format!("an item is over {MAX_FIELD_CHARS} characters"),
                    ));
                }
            }
            Ok(items)
        };
        match key.as_str() {
            "name" => skill.name = scalar(value)?,
            "version" => {
                let v = scalar(value)?;
                skill.version = Some(
                    Version::parse(&v)
                        .map_err(|e| invalid("version", format!("`{v}` is not semver: {e}")))?,
                );
            }
            "description" => skill.description = scalar(value)?,
            "keywords" => skill.keywords = list(value)?,
            "tags" => skill.tags = list(value)?,
            "patterns" | "regex" => skill.patterns.extend(list(value)?),
            "requires-tools" => skill.requires_tools = list(value)?,
            other => {
                return Err(invalid(
                    other,
                    "unknown field (known: name, version, description, keywords, tags, patterns, requires-tools)"
                        .into(),
                ));
            }
        }
    }
    if skill.name.is_empty() {
        return Err(invalid("name", "missing".into()));
    }
    if !is_component_name(&skill.name) {
        return Err(invalid(
            "name",
            format!(
                "`{}` is not a skill name (a-z, 0-9, -, starting with a letter, at most 64)",
                crate::trust::printable(&skill.name)
            ),
        ));
    }
    if skill.description.trim().is_empty() {
        return Err(invalid("description", "missing".into()));
    }
    if skill.description.chars().count() > MAX_FIELD_CHARS {
        return Err(invalid(
            "description",
            format!("over {MAX_FIELD_CHARS} characters"),
        ));
    }
    if skill.keywords.is_empty() && skill.tags.is_empty() && skill.patterns.is_empty() {
        return Err(invalid(
            "keywords",
            "a skill needs keywords, tags or patterns, or it can never be selected".into(),
        ));
    }
    if skill.body.is_empty() {
        return Err(invalid(
            "body",
            "empty: nothing after the frontmatter".into(),
        ));
    }
    if skill.body.len() > MAX_BODY_BYTES {
        return Err(invalid(
            "body",
            format!(
                "{} bytes, over the {MAX_BODY_BYTES}-byte limit",
                skill.body.len()
            ),
        ));
    }
    Ok(skill)
}

/// `key: value` pairs in file order; an error is (line index, reason).
fn frontmatter(lines: &[&str]) -> Result<Vec<(String, Value)>, (usize, String)> {
    let mut fields: Vec<(String, Value)> = Vec::new();
    // Whether the last key had no value, so `- item` lines may follow it.
    let mut block_open = false;
    for (i, raw) in lines.iter().enumerate() {
        let line = strip_comment(raw);
        if line.trim().is_empty() {
            continue;
        }
        if raw.starts_with(' ') || raw.starts_with('\t') {
            // A `- item` continues the list of the key above it.
            let item = line.trim_start();
            let Some(rest) = item.strip_prefix('-') else {
                return Err((i, "indented line that is not a `- item`".into()));
            };
            let Some((key, Value::List(items))) = fields.last_mut().filter(|_| block_open) else {
                return Err((
                    i,
                    "a `- item` must follow a `key:` line with no value".into(),
                ));
            };
            if key.is_empty() {
                return Err((i, "a `- item` without a key".into()));
            }
            items.push(scalar(rest.trim()).map_err(|r| (i, r))?);
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err((i, format!("expected `key: value`, found `{}`", line.trim())));
        };
        let key = key.trim().to_string();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            return Err((i, format!("`{}` is not a field name", key)));
        }
        if fields.iter().any(|(k, _)| *k == key) {
            return Err((i, format!("`{key}` appears twice")));
        }
        let value = value.trim();
        block_open = value.is_empty();
        let value = if value.is_empty() {
            // Block list items may follow; no items is an empty list.
            Value::List(Vec::new())
        } else if let Some(inner) = value.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(|| {
                (
                    i,
                    format!("`{key}`: a `[` list must end with `]` on the same line"),
                )
            })?;
            Value::List(flow_list(inner).map_err(|r| (i, format!("`{key}`: {r}")))?)
        } else if matches!(
            value.chars().next(),
            Some('|' | '>' | '{' | '&' | '*' | '!')
        ) {
            return Err((
                i,
                format!("`{key}`: only plain or quoted single-line values and lists are supported"),
            ));
        } else {
            Value::Scalar(scalar(value).map_err(|r| (i, format!("`{key}`: {r}")))?)
        };
        fields.push((key, value));
    }
    // A `key:` with no value and no items is an empty scalar for scalar
    // fields; `parse` turns an empty list into "missing" where it matters.
    Ok(fields
        .into_iter()
        .map(|(k, v)| match v {
            Value::List(items) if items.is_empty() && !is_list_key(&k) => {
                (k, Value::Scalar(String::new()))
            }
            v => (k, v),
        })
        .collect())
}

fn is_list_key(key: &str) -> bool {
    matches!(
        key,
        "keywords" | "tags" | "patterns" | "regex" | "requires-tools"
    )
}

/// Drops a `#` comment that is outside quotes and starts the line or follows a space.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut escaped = false;
    for (at, c) in line.char_indices() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return &line[..at],
            None => {}
        }
        prev = c;
    }
    line
}

/// One value: `"double"` (with escapes), `'single'` (`''` is a quote), or plain.
fn scalar(text: &str) -> Result<String, String> {
    if let Some(rest) = text.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    let tail: String = chars.collect();
                    if !tail.trim().is_empty() {
                        return Err(format!("text after the closing quote: `{}`", tail.trim()));
                    }
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(c @ ('\\' | '"' | '/')) => out.push(c),
                    other => {
                        return Err(format!(
                            "unsupported escape `\\{}` in a double-quoted value",
                            other.map(String::from).unwrap_or_default()
                        ));
                    }
                },
                c => out.push(c),
            }
        }
        return Err("a double-quoted value has no closing `\"`".into());
    }
    if let Some(rest) = text.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                let tail: String = chars.collect();
                if !tail.trim().is_empty() {
                    return Err(format!("text after the closing quote: `{}`", tail.trim()));
                }
                return Ok(out);
            }
            out.push(c);
        }
        return Err("a single-quoted value has no closing `'`".into());
    }
    Ok(text.trim().to_string())
}

/// The inside of `[a, "b, c", 'd']`.
fn flow_list(inner: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in inner.chars() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == ',' => {
                items.push(scalar(current.trim())?);
                current.clear();
                continue;
            }
            None if c == '[' || c == ']' || c == '{' => {
                return Err("nested lists and maps are not supported".into());
            }
            None => {}
        }
        current.push(c);
    }
    if quote.is_some() {
        return Err("an unclosed quote".into());
    }
    if !current.trim().is_empty() {
        items.push(scalar(current.trim())?);
    } else if !items.is_empty() {
        return Err("an empty item (a trailing or doubled comma)".into());
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "---\n\
name: release-notes   # the id\n\
version: 1.2.0\n\
description: \"Writing release notes: the house style\"\n\
keywords: [release notes, 'changelog', \"what's new\"]\n\
tags:\n  - writing\n  - docs\n\
patterns: [\"v\\\\d+\\\\.\\\\d+\"]\n\
requires-tools: memory_read\n\
---\n\n# Release notes\nUse past tense.\n";

    #[test]
    fn a_full_skill_parses() {
        let s = parse(GOOD, "SKILL.md").unwrap();
        assert_eq!(s.name, "release-notes");
        assert_eq!(s.version, Some(Version::new(1, 2, 0)));
        assert_eq!(s.description, "Writing release notes: the house style");
        assert_eq!(s.keywords, ["release notes", "changelog", "what's new"]);
        assert_eq!(s.tags, ["writing", "docs"]);
        assert_eq!(s.patterns, ["v\\d+\\.\\d+"]);
        assert_eq!(s.requires_tools, ["memory_read"]);
        assert_eq!(s.body, "# Release notes\nUse past tense.");
    }

    fn err(text: &str) -> (String, String) {
        match parse(text, "x/SKILL.md").unwrap_err() {
            SkillError::Invalid {
                field,
                reason,
                path,
            } => {
                assert_eq!(path, "x/SKILL.md");
                (field, reason)
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn each_mistake_names_its_field() {
        let head = "---\nname: a\ndescription: d\nkeywords: [k]\n";
        let cases: &[(&str, &str, &str)] = &[
            ("no frontmatter", "frontmatter", "must start"),
            ("---\nname: a\n", "frontmatter", "no closing"),
            (
                "---\ndescription: d\nkeywords: k\n---\nb",
                "name",
                "missing",
            ),
            (
                "---\nname: Bad_Name\ndescription: d\nkeywords: k\n---\nb",
                "name",
                "not a skill name",
            ),
            (
                "---\nname: a\nkeywords: k\n---\nb",
                "description",
                "missing",
            ),
            (
                "---\nname: a\ndescription: d\n---\nb",
                "keywords",
                "never be selected",
            ),
            (&format!("{head}---\n"), "body", "empty"),
            (
                &format!("{head}version: one\n---\nb"),
                "version",
                "not semver",
            ),
            (
                &format!("{head}colour: red\n---\nb"),
                "colour",
                "unknown field",
            ),
            (
                &format!("{head}name: b\n---\nb"),
                "frontmatter",
                "line 5: `name` appears twice",
            ),
            (
                &format!("{head}tags: [a, [b]]\n---\nb"),
                "frontmatter",
                "nested",
            ),
            (
                &format!("{head}tags: [a,,b]\n---\nb"),
                "tags",
                "an item is empty",
            ),
            (
                &format!("{head}tags: [a, b,]\n---\nb"),
                "frontmatter",
                "trailing or doubled comma",
            ),
            (
                &format!("{head}tags: [a\n---\nb"),
                "frontmatter",
                "must end with `]`",
            ),
            (
                &format!("{head}description2: |\n---\nb"),
                "frontmatter",
                "not a field name",
            ),
            (
                "---\nname: a\ndescription: >\n---\nb",
                "frontmatter",
                "single-line",
            ),
            (
                &format!("{head}  - stray\n---\nb"),
                "frontmatter",
                "must follow a `key:`",
            ),
            (
                &format!("{head}version: \"1.0\n---\nb"),
                "frontmatter",
                "no closing",
            ),
            (
                "---\nname: [a, b]\ndescription: d\nkeywords: k\n---\nb",
                "name",
                "single value",
            ),
        ];
        for (text, field, says) in cases {
            let (f, reason) = err(text);
            assert_eq!(&f, field, "{text:?}: {reason}");
            assert!(reason.contains(says), "{text:?}: {reason}");
        }
    }

    #[test]
    fn limits_hold() {
        let big = format!(
            "---\nname: a\ndescription: d\nkeywords: k\n---\n{}",
            "x".repeat(MAX_BODY_BYTES + 1)
        );
        assert_eq!(err(&big).0, "body");
        let many: Vec<String> = (0..=MAX_LIST_ITEMS).map(|i| format!("k{i}")).collect();
        let text = format!(
            "---\nname: a\ndescription: d\nkeywords: [{}]\n---\nb",
            many.join(",")
        );
        assert_eq!(err(&text).0, "keywords");
        let huge = "x".repeat(MAX_SKILL_FILE_BYTES + 1);
        assert_eq!(err(&huge).0, "file");
    }

    #[test]
    fn comments_and_quotes() {
        assert_eq!(strip_comment("a: b # c"), "a: b ");
        assert_eq!(strip_comment("a: \"b # c\""), "a: \"b # c\"");
        assert_eq!(strip_comment("a: b#c"), "a: b#c");
        assert_eq!(scalar("'it''s'").unwrap(), "it's");
        assert_eq!(scalar("\"a\\\"b\\n\"").unwrap(), "a\"b\n");
        assert!(scalar("\"a\" b").is_err());
        assert_eq!(flow_list("a, 'b, c' ,\"d\"").unwrap(), ["a", "b, c", "d"]);
        assert!(flow_list("").unwrap().is_empty());
    }
}
