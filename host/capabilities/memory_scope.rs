//! Which workspace paths a `memory` grant covers.
//!
//! A grant lists `read` and `write` entries (`[capabilities.memory]` in
//! `component.toml`). One rule for every entry:
//!
//! - `""` is the whole workspace;
//! - an entry ending in `/` is a directory: every path under it
//!   (`notes/` covers `notes/a.md` and `notes/2026/b.md`);
//! - any other entry is one document, and the directory of the same name
//!   (`MEMORY.md` covers `MEMORY.md`; `notes` covers `notes` and `notes/a.md`
//!   but not `notes-old.md`).
//!
//! Entries are workspace paths: relative, no `.`/`..`/empty segments, no
//! control characters. `*` is refused with a hint to write `""`: one spelling
//! for "everything" keeps grants easy to read and to compare.

use crate::memory::workspace::validate_prefix;

/// Checks one grant entry; the message says what is wrong.
pub fn validate_entry(entry: &str) -> Result<(), String> {
    if entry.contains('*') {
        return Err(format!(
            "`{entry}`: wildcards are not supported; \"\" grants the whole workspace, \
             \"dir/\" a directory, \"file.md\" one document"
        ));
    }
    validate_prefix(entry).map_err(|e| e.to_string())
}

/// The read or the write half of a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    entries: Vec<String>,
}

impl Scope {
    pub fn new(entries: &[String]) -> Scope {
        Scope {
            entries: entries.to_vec(),
        }
    }

    /// Whether `path` (a valid document path) is inside the scope.
    pub fn covers(&self, path: &str) -> bool {
        self.entries.iter().any(|e| entry_covers(e, path))
    }

    /// Whether the scope is the whole workspace (nothing to filter).
    pub fn is_everything(&self) -> bool {
        self.entries.iter().any(|e| e.is_empty())
    }

    /// Whether some path starting with `prefix` could be inside the scope:
    /// `tree(prefix)` is refused when none can.
    pub fn reaches_under(&self, prefix: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.is_empty() || e.starts_with(prefix) || prefix.starts_with(&directory(e)))
    }

    /// `notes/, MEMORY.md`, for messages.
    pub fn describe(&self) -> String {
        if self.entries.is_empty() {
            return "none".to_string();
        }
        if self.is_everything() {
            return "the whole workspace".to_string();
        }
        self.entries.join(", ")
    }
}

/// The directory form of an entry: `notes/` for `notes/` and for `notes`.
fn directory(entry: &str) -> String {
    if entry.ends_with('/') {
        entry.to_string()
    } else {
        format!("{entry}/")
    }
}

fn entry_covers(entry: &str, path: &str) -> bool {
    if entry.is_empty() {
        return true;
    }
    if entry.ends_with('/') {
        return path.starts_with(entry);
    }
    path == entry
        || path
            .strip_prefix(entry)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(entries: &[&str]) -> Scope {
        Scope::new(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn directories_documents_and_everything() {
        let s = scope(&["notes/", "MEMORY.md", "daily"]);
        for yes in [
            "notes/a.md",
            "notes/2026/b.md",
            "MEMORY.md",
            "daily",
            "daily/x.md",
        ] {
            assert!(s.covers(yes), "{yes}");
        }
        for no in [
            "notes",
            "notes-old.md",
            "MEMORY.md.bak",
            "dailyx.md",
            "SOUL.md",
        ] {
            assert!(!s.covers(no), "{no}");
        }
        assert!(scope(&[""]).covers("anything/at/all.md"));
        assert!(!scope(&[]).covers("a.md"));
        assert!(scope(&["x/", ""]).is_everything());
        assert_eq!(s.describe(), "notes/, MEMORY.md, daily");
        assert_eq!(scope(&[]).describe(), "none");
    }

    #[test]
    fn tree_reaches_into_granted_parts_only() {
        let s = scope(&["notes/", "MEMORY.md"]);
        for yes in ["", "no", "notes/", "notes/2026/", "MEM", "MEMORY.md"] {
            assert!(s.reaches_under(yes), "{yes:?}");
        }
        for no in ["secret/", "daily/", "SOUL.md"] {
            assert!(!s.reaches_under(no), "{no:?}");
        }
        assert!(scope(&[""]).reaches_under("secret/"));
    }

    #[test]
    fn entries_are_validated() {
        for ok in ["", "notes/", "MEMORY.md", "daily/2026/"] {
            assert!(validate_entry(ok).is_ok(), "{ok:?}");
        }
        for bad in ["*", "notes/*", "/etc/", "../x/", "a//b", "a/./b"] {
            assert!(validate_entry(bad).is_err(), "{bad:?}");
        }
        assert!(validate_entry("*").unwrap_err().contains("whole workspace"));
    }
}
