//! Paths the file tools accept: inside the workspace, checked on the host
//! before a job starts. `..` that climbs out and symlinks that resolve
//! outside are refused here; the job then runs as a non-root user with
//! only the workspace mounted, so a path that changes after the check
//! still cannot reach the host.

use std::path::{Component, Path, PathBuf};

use super::SandboxError;

/// Where the workspace is mounted inside every job.
pub const MOUNT: &str = "/workspace";

/// A checked path: relative to the workspace root, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspacePath {
    /// Normalised, relative; empty for the root itself.
    pub relative: PathBuf,
    /// The same place on the host.
    pub host: PathBuf,
}

impl WorkspacePath {
    /// The same place inside the container (`/workspace/…`).
    pub fn in_container(&self) -> String {
        let mut out = String::from(MOUNT);
        for c in self.relative.components() {
            out.push('/');
            out.push_str(&c.as_os_str().to_string_lossy());
        }
        out
    }

    /// The path as the model named it back to it (`.` for the root).
    pub fn display(&self) -> String {
        if self.relative.as_os_str().is_empty() {
            ".".into()
        } else {
            self.relative.to_string_lossy().into_owned()
        }
    }
}

fn refuse(requested: &str, why: &str) -> SandboxError {
    SandboxError::PathRefused {
        path: requested.to_string(),
        reason: why.to_string(),
    }
}

/// Checks `requested` (relative to the workspace, or absolute under
/// `/workspace`) against the workspace at `root` on the host.
pub fn confine(root: &Path, requested: &str) -> Result<WorkspacePath, SandboxError> {
    if requested.contains('\0') {
        return Err(refuse(requested, "it contains a NUL byte"));
    }
    let trimmed = requested.trim();
    let rest = if trimmed == MOUNT {
        ""
    } else if let Some(rest) = trimmed.strip_prefix("/workspace/") {
        rest
    } else if trimmed.starts_with('/') {
        return Err(refuse(
            requested,
            "absolute paths must be under /workspace (the only directory a job sees)",
        ));
    } else {
        trimmed
    };
    let mut relative = PathBuf::new();
    for component in Path::new(rest).components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !relative.pop() {
                    return Err(refuse(requested, "`..` climbs out of the workspace"));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(requested, "it is not a workspace path"));
            }
        }
    }
    let root = root.canonicalize().map_err(|e| SandboxError::Workspace {
        path: root.display().to_string(),
        message: e.to_string(),
    })?;
    let host = root.join(&relative);
    check_symlinks(&root, &relative, requested)?;
    Ok(WorkspacePath { relative, host })
}

/// Every existing prefix of `relative` must resolve inside `root`: a
/// symlink pointing out (or nowhere) is refused.
fn check_symlinks(root: &Path, relative: &Path, requested: &str) -> Result<(), SandboxError> {
    let mut at = root.to_path_buf();
    for component in relative.components() {
        at.push(component);
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(m) => m,
            // The rest does not exist yet: nothing below can be a link.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(refuse(requested, &format!("cannot inspect it: {e}"))),
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let resolved = at
            .canonicalize()
            .map_err(|_| refuse(requested, "it goes through a symlink that points nowhere"))?;
        if !resolved.starts_with(root) {
            return Err(refuse(
                requested,
                "it goes through a symlink that leads out of the workspace",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("src")).unwrap();
        std::fs::write(d.path().join("src/a.txt"), "a").unwrap();
        d
    }

    #[test]
    fn relative_and_absolute_forms_agree() {
        let d = ws();
        let a = confine(d.path(), "src/a.txt").unwrap();
        let b = confine(d.path(), "/workspace/src/./a.txt").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.in_container(), "/workspace/src/a.txt");
        assert_eq!(confine(d.path(), "").unwrap().in_container(), "/workspace");
        assert_eq!(confine(d.path(), "/workspace").unwrap().display(), ".");
        assert_eq!(
            confine(d.path(), "src/../new.txt").unwrap().in_container(),
            "/workspace/new.txt"
        );
    }

    #[test]
    fn climbing_out_is_refused() {
        let d = ws();
        for p in [
            "..",
            "../etc/passwd",
            "src/../../x",
            "/etc/passwd",
            "/workspace/../etc",
        ] {
            let e = confine(d.path(), p).unwrap_err();
            assert!(matches!(e, SandboxError::PathRefused { .. }), "{p}: {e}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_are_refused_and_in_are_fine() {
        let d = ws();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("out")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc/passwd", d.path().join("pw")).unwrap();
        std::os::unix::fs::symlink("src", d.path().join("in")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/x", d.path().join("dangling")).unwrap();
        for p in ["out", "out/new.txt", "pw", "dangling"] {
            let e = confine(d.path(), p).unwrap_err().to_string();
            assert!(e.contains("symlink"), "{p}: {e}");
        }
        assert!(confine(d.path(), "in/a.txt").is_ok());
    }
}
