//! Finding components on disk: directories of `<name>.wasm` beside
//! `<name>.toml` (the layout `scripts/build-components` produces and the
//! bundled set ships in).

use std::path::{Path, PathBuf};

use super::manifest::{Manifest, ManifestError};
use crate::config::{Config, Home};

/// A `.wasm` file and its manifest, not yet verified or loaded.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub wasm: PathBuf,
    pub manifest: Manifest,
}

/// Directories searched, in order: the owner's `components.paths`, the
/// development builds of `ironclaw component dev`, installed components
/// under `IRONCLAW_HOME`, then the bundled set beside the binary
/// (`target/components` for a `target/release/ironclaw`).
pub fn search_path(config: &Config, home: &Home) -> Vec<PathBuf> {
    let mut dirs = config.components.paths.clone();
    dirs.push(home.dev_dir());
    dirs.push(home.components_dir());
    if let Some(bundled) = bundled_dir() {
        dirs.push(bundled);
    }
    dirs.dedup();
    dirs
}

/// `<dir of the executable>/../components`.
pub fn bundled_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.join("components"))
}

/// The manifest for a `.wasm` file: `<stem>.toml` beside it, else
/// `component.toml` beside it.
pub fn manifest_path_for(wasm: &Path) -> Option<PathBuf> {
    let dir = wasm.parent().unwrap_or(Path::new("."));
    let stem = wasm.file_stem()?.to_str()?;
    [dir.join(format!("{stem}.toml")), dir.join("component.toml")]
        .into_iter()
        .find(|p| p.is_file())
}

/// Every bundle found in `dirs`; the first occurrence of a name wins.
/// Broken bundles are returned as errors beside the good ones, so one bad
/// file never hides the rest.
pub fn discover(dirs: &[PathBuf]) -> (Vec<Bundle>, Vec<ManifestError>) {
    let mut bundles: Vec<Bundle> = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut wasms: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        wasms.sort();
        for wasm in wasms {
            let Some(manifest_path) = manifest_path_for(&wasm) else {
                errors.push(ManifestError::Invalid {
                    path: wasm.display().to_string(),
                    message: "no manifest beside it (<name>.toml or component.toml)".into(),
                });
                continue;
            };
            match Manifest::load(&manifest_path) {
                Ok(manifest) if bundles.iter().any(|b| b.manifest.name == manifest.name) => {
                    tracing::debug!(name = %manifest.name, path = %wasm.display(), "shadowed by an earlier directory");
                }
                Ok(manifest) => bundles.push(Bundle { wasm, manifest }),
                Err(e) => errors.push(e),
            }
        }
    }
    (bundles, errors)
}
