//! Compile once per blake3 digest; keep the precompiled artifact on disk
//! keyed by digest + engine fingerprint (DESIGN §4).
//!
//! Loading a precompiled artifact runs native code produced from it, so the
//! cache directory is owner-only (0700) and files are written atomically. A
//! stale or corrupt artifact is recompiled, never trusted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::config::create_private_dir;

/// How a component's code became ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheOutcome {
    /// Already compiled in this process.
    Memory,
    /// Deserialized from a precompiled artifact on disk.
    Disk,
    /// Compiled now (and written to disk when the cache is on).
    Compiled,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
}

pub struct PrecompiledCache {
    dir: Option<PathBuf>,
    fingerprint: String,
}

impl PrecompiledCache {
    /// `dir = None` disables the disk cache.
    pub fn new(dir: Option<PathBuf>, fingerprint: String) -> PrecompiledCache {
        PrecompiledCache { dir, fingerprint }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn artifact_path(&self, digest: &blake3::Hash) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{}-{}.cwasm", digest.to_hex(), self.fingerprint)))
    }

    /// The component for `bytes`, from disk when a valid artifact exists.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        digest: &blake3::Hash,
        bytes: &[u8],
    ) -> Result<(Component, CacheOutcome, Duration), CompileError> {
        let started = Instant::now();
        if let Some(path) = self.artifact_path(digest).filter(|p| trusted_artifact(p)) {
            // SAFETY: the artifact was written by `precompile_component` of an
            // engine with the same fingerprint into our owner-only cache
            // directory; wasmtime re-checks its compatibility header and we
            // fall back to compiling on any error.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CacheOutcome::Disk, started.elapsed())),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    error = %format!("{e:#}"),
                    "discarding unusable precompiled artifact"
                ),
            }
        }
        let Some(path) = self.artifact_path(digest) else {
            let component = Component::new(engine, bytes)
                .map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
            return Ok((component, CacheOutcome::Compiled, started.elapsed()));
        };
        let serialized = engine
            .precompile_component(bytes)
            .map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
        if let Err(e) = write_atomically(&path, &serialized) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write precompiled artifact");
        }
        // SAFETY: `serialized` was produced by this engine just now.
        let component = unsafe { Component::deserialize(engine, &serialized) }
            .map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
        Ok((component, CacheOutcome::Compiled, started.elapsed()))
    }
}

/// An artifact is only deserialized (which runs the native code in it) when
/// nobody but its owner could have written it or its directory, and the
/// owner is the owner of the cache directory.
fn trusted_artifact(path: &Path) -> bool {
    let Ok(file) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !file.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let Some(dir) = path.parent().and_then(|d| std::fs::metadata(d).ok()) else {
            return false;
        };
        let writable_by_others = |mode: u32| mode & 0o022 != 0;
        if writable_by_others(file.permissions().mode())
            || writable_by_others(dir.permissions().mode())
            || file.uid() != dir.uid()
        {
            tracing::warn!(path = %path.display(), "precompiled artifact writable by others; recompiling");
            return false;
        }
    }
    true
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    // Unique per writer (two runtimes in one process may compile the same
    // component at once), and created exclusively so nothing is clobbered.
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("artifact"),
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    std::io::Write::write_all(&mut options.open(&tmp)?, bytes)?;
    std::fs::rename(&tmp, path)
}
