//! The files a unified diff touches, read on the host before `patch` runs
//! in a container, so that every one of them can be confined to the
//! workspace first.

use super::SandboxError;

/// The diff's target files (after stripping) and the `-p` level to apply
/// it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPlan {
    pub strip: u8,
    pub files: Vec<String>,
}

fn invalid(why: impl Into<String>) -> SandboxError {
    SandboxError::InvalidInput(format!("not a usable unified diff: {}", why.into()))
}

/// The path of a `--- ` / `+++ ` line: up to a tab (a timestamp may
/// follow), `None` for /dev/null.
fn header_path(rest: &str) -> Result<Option<String>, SandboxError> {
    let path = rest.split('\t').next().unwrap_or("").trim_end();
    if path == "/dev/null" {
        return Ok(None);
    }
    if path.is_empty() {
        return Err(invalid("a file header without a path"));
    }
    if path.starts_with('"') {
        return Err(invalid(format!(
            "quoted file name {path} (unusual characters are not supported)"
        )));
    }
    Ok(Some(path.to_string()))
}

pub fn plan(diff: &str) -> Result<PatchPlan, SandboxError> {
    let mut pairs: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut hunks = 0usize;
    let mut lines = diff.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("--- ") {
            let Some(next) = lines.peek() else {
                return Err(invalid("`---` without a `+++` line"));
            };
            let Some(new) = next.strip_prefix("+++ ") else {
                // A removed line that starts with "-- " inside a hunk.
                continue;
            };
            let pair = (header_path(rest)?, header_path(new)?);
            if pair.0.is_none() && pair.1.is_none() {
                return Err(invalid("both sides are /dev/null"));
            }
            pairs.push(pair);
            lines.next();
        } else if line.starts_with("@@ ") {
            hunks += 1;
        }
    }
    if pairs.is_empty() || hunks == 0 {
        return Err(invalid(
            "no `--- a/file` / `+++ b/file` header with a `@@` hunk",
        ));
    }
    // git-style a/ and b/ prefixes are stripped (-p1); plain paths not.
    let git_style = pairs.iter().all(|(old, new)| {
        old.as_deref().is_none_or(|p| p.starts_with("a/"))
            && new.as_deref().is_none_or(|p| p.starts_with("b/"))
    });
    let strip = u8::from(git_style);
    let mut files = Vec::new();
    for (old, new) in pairs {
        for path in [old, new].into_iter().flatten() {
            let path = if git_style {
                path[2..].to_string()
            } else {
                path
            };
            if !files.contains(&path) {
                files.push(path);
            }
        }
    }
    Ok(PatchPlan { strip, files })
}

/// The script that applies the diff (read from stdin) in the workspace:
/// a dry run first, so a diff that does not apply changes nothing.
/// `$1` is the `-p` option. GNU patch needs `--batch` not to ask.
pub const APPLY_SCRIPT: &str = r#"set -e
cat > /tmp/change.diff
if patch --version 2>/dev/null | grep -q GNU; then set -- --batch "$@"; fi
if ! out=$(patch "$@" --dry-run -i /tmp/change.diff 2>&1); then
  printf '%s\n' "$out" >&2
  echo "the diff does not apply; nothing was changed" >&2
  exit 1
fi
patch "$@" -i /tmp/change.diff
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_style_diffs_strip_one_level() {
        let d = "diff --git a/src/x.txt b/src/x.txt\n--- a/src/x.txt\n+++ b/src/x.txt\n@@ -1 +1 @@\n-a\n+b\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+n\n";
        let p = plan(d).unwrap();
        assert_eq!(p.strip, 1);
        assert_eq!(p.files, ["src/x.txt", "new.txt"]);
    }

    #[test]
    fn plain_diffs_keep_their_paths_and_timestamps_are_dropped() {
        let d =
            "--- x.txt\t2024-01-01 00:00:00\n+++ x.txt\t2024-01-02 00:00:00\n@@ -1 +1 @@\n-a\n+b\n";
        let p = plan(d).unwrap();
        assert_eq!(
            (p.strip, p.files.as_slice()),
            (0, &["x.txt".to_string()][..])
        );
    }

    #[test]
    fn a_removed_line_starting_with_dashes_is_not_a_header() {
        let d = "--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n--- not a header\n a\n";
        assert_eq!(plan(d).unwrap().files, ["x"]);
    }

    #[test]
    fn garbage_and_escapes_surface_as_paths_or_errors() {
        assert!(plan("hello").is_err());
        assert!(plan("--- a/x\n+++ b/x\n").is_err(), "no hunk");
        let p =
            plan("--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n").unwrap();
        // The caller confines these; `..` is kept for it to refuse.
        assert_eq!(p.files, ["../../etc/passwd"]);
    }
}
