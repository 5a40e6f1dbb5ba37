//! Registry indexes: a directory, or an HTTP URL serving the same files,
//! holding `index.json` and each component's `.wasm`, manifest and `.sig`
//! (the format is described in `registry/README.md`).
//!
//! ```json
//! {
//!   "format": "ironclaw-registry-index-v1",
//!   "components": [
//!     {
//!       "name": "echo", "kind": "tool", "version": "0.1.0", "world-version": "0.1.0",
//!       "description": "…", "digest": "<blake3 of echo.wasm, 64 hex>", "size": 104574,
//!       "wasm": "echo.wasm", "manifest": "echo.toml", "signature": "echo.sig"
//!     }
//!   ]
//! }
//! ```
//!
//! What the index promises and what it does not: the digest ties a download
//! to the entry it was listed under, so a truncated, corrupted or swapped
//! `.wasm` is refused by [`fetch`] before anything else is read or returned.
//! It does not make the component trustworthy: whoever can change the
//! `.wasm` on the server can change `index.json` too. Trust comes only from
//! the signature, which the installer verifies against the owner's trust
//! store ([`crate::trust::verify`]).
//!
//! Loading fails closed: an unknown format, a malformed field, a duplicate
//! name or a file path that could leave the registry (`..`, absolute paths,
//! anything but `[A-Za-z0-9._+-]` segments separated by `/`) refuses the
//! whole index, never just the bad entry.

use std::path::{Path, PathBuf};
use std::time::Duration;

use semver::Version;
use serde::{Deserialize, Serialize};

use super::manifest::{ComponentKind, Manifest, ManifestError, is_component_name};
use crate::trust::{SecretKey, SignError, SignatureFile, TrustStore, VerifyError};

mod build;
mod fetch;
mod transport;

pub use build::{BuiltEntry, build};
pub use fetch::{Fetched, fetch};
pub use transport::set_extra_ca;
use transport::{http_get, parse_http_url, read_dir_file};

/// The `format` of `index.json`.
pub const INDEX_FORMAT: &str = "ironclaw-registry-index-v1";
/// The index file at the root of a registry.
pub const INDEX_FILE: &str = "index.json";

/// Largest `.wasm` a registry may serve.
pub const MAX_WASM_BYTES: u64 = 64 * 1024 * 1024;
/// Largest `index.json`.
pub const MAX_INDEX_BYTES: u64 = 4 * 1024 * 1024;
/// Largest manifest.
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024;
/// Largest signature file (one is under 1 KiB).
pub const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// No byte for this long from a server: give up.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Chunk size when reading from a directory (progress granularity).
const DIR_CHUNK: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(
        "`{0}` is not a registry: give a directory or an http:// or https:// URL \
         (without user info, query or fragment)"
    )]
    InvalidSource(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    #[error("{url}: HTTP status {status}")]
    HttpStatus { url: String, status: u16 },
    #[error("{url}: timed out")]
    Timeout { url: String },
    #[error("{what} is larger than {limit} bytes: refused")]
    TooLarge { what: String, limit: u64 },
    #[error("malformed registry index {origin}: {reason}")]
    Malformed { origin: String, reason: String },
    #[error("{origin}: unsupported index format `{found}` (expected {INDEX_FORMAT})")]
    UnsupportedFormat { origin: String, found: String },
    #[error(
        "unsafe path in registry index: entry `{name}` names `{path}` \
         (only relative paths inside the registry are allowed)"
    )]
    UnsafePath { name: String, path: String },
    #[error("registry index lists `{0}` more than once")]
    DuplicateName(String),
    #[error(
        "digest mismatch: {name}: the downloaded .wasm is not the one the index lists \
         (index blake3 {expected}, downloaded {actual})"
    )]
    DigestMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("{name}: the manifest disagrees with the index entry ({reason})")]
    EntryMismatch { name: String, reason: String },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(
        "{path} does not match {wasm} and its manifest ({reason}): sign again with --key, or remove it"
    )]
    StaleSignature {
        path: String,
        wasm: String,
        reason: VerifyError,
    },
    #[error("no manifest beside {0} (<name>.toml)")]
    NoManifest(String),
    #[error("no components (<name>.wasm beside <name>.toml) or skills (skills/<name>.md) in {0}")]
    Empty(String),
}

impl IndexError {
    /// A stable machine-readable name (`--json` status).
    pub fn code(&self) -> &'static str {
        match self {
            IndexError::InvalidSource(_) => "invalid-source",
            IndexError::NotFound(_) => "not-found",
            IndexError::Read { .. } => "unreadable",
            IndexError::Write { .. } => "unwritable",
            IndexError::Http { .. } => "http",
            IndexError::HttpStatus { .. } => "http-status",
            IndexError::Timeout { .. } => "timeout",
            IndexError::TooLarge { .. } => "too-large",
            IndexError::Malformed { .. } => "malformed-index",
            IndexError::UnsupportedFormat { .. } => "unsupported-format",
            IndexError::UnsafePath { .. } => "unsafe-path",
            IndexError::DuplicateName(_) => "duplicate-name",
            IndexError::DigestMismatch { .. } => "digest-mismatch",
            IndexError::EntryMismatch { .. } => "entry-mismatch",
            IndexError::Manifest(_) => "invalid-manifest",
            IndexError::Sign(_) => "sign",
            IndexError::StaleSignature { .. } => "stale-signature",
            IndexError::NoManifest(_) => "no-manifest",
            IndexError::Empty(_) => "empty",
        }
    }
}

/// Where a registry lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrySource {
    Dir(PathBuf),
    /// `http://` or `https://`, without a trailing `/`.
    Url(String),
}

impl RegistrySource {
    /// A URL for `http://` and `https://`; any other `scheme://` is refused;
    /// anything else is a directory.
    pub fn parse(s: &str) -> Result<RegistrySource, IndexError> {
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let base = s.trim_end_matches('/');
            // Validate now so a bad URL is a usage error, not a failed download.
            parse_http_url(base).map_err(|_| IndexError::InvalidSource(s.to_string()))?;
            return Ok(RegistrySource::Url(base.to_string()));
        }
        if s.is_empty() || s.contains("://") {
            return Err(IndexError::InvalidSource(s.to_string()));
        }
        Ok(RegistrySource::Dir(PathBuf::from(s)))
    }

    /// Where `relative` (already checked by [`safe_relative`]) lives, for messages.
    pub fn describe(&self, relative: &str) -> String {
        match self {
            RegistrySource::Dir(dir) => dir.join(relative).display().to_string(),
            RegistrySource::Url(base) => format!("{base}/{relative}"),
        }
    }
}

impl std::fmt::Display for RegistrySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistrySource::Dir(dir) => write!(f, "{}", dir.display()),
            RegistrySource::Url(url) => f.write_str(url),
        }
    }
}

/// One component listed in an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub name: String,
    pub kind: ComponentKind,
    pub version: Version,
    pub world_version: Version,
    pub description: String,
    /// blake3 of the `.wasm` bytes.
    pub digest: blake3::Hash,
    /// Length of the `.wasm` in bytes.
    pub size: u64,
    /// Paths relative to the registry root (checked by [`safe_relative`]).
    pub wasm: String,
    pub manifest: String,
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub entries: Vec<IndexEntry>,
    /// Skills (`skills` in the JSON; see [`crate::skills::registry`]).
    pub skills: Vec<crate::skills::registry::SkillEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexJson {
    format: String,
    components: Vec<EntryJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    skills: Vec<crate::skills::registry::SkillEntryJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct EntryJson {
    name: String,
    kind: ComponentKind,
    version: Version,
    world_version: Version,
    #[serde(default)]
    description: String,
    digest: String,
    size: u64,
    wasm: String,
    manifest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

/// Whether `path` is a plain relative path inside the registry: segments of
/// `[A-Za-z0-9._+-]` separated by `/`, none empty, none starting with `.`
/// (which also rules out `.` and `..`). No absolute paths, backslashes,
/// drive letters, percent-escapes, queries or fragments.
pub fn safe_relative(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 255
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
        })
}

impl Index {
    /// Parses and checks `index.json` text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Index, IndexError> {
        let malformed = |reason: String| IndexError::Malformed {
            origin: origin.to_string(),
            reason,
        };
        // The format first, so a future format gets the right message even
        // if its fields would not parse as this one.
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
        match value.get("format") {
            Some(serde_json::Value::String(f)) if f == INDEX_FORMAT => {}
            Some(serde_json::Value::String(f)) => {
                return Err(IndexError::UnsupportedFormat {
                    origin: origin.to_string(),
                    found: f.clone(),
                });
            }
            _ => return Err(malformed("no `format` string".into())),
        }
        let raw: IndexJson = serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
        let mut entries: Vec<IndexEntry> = Vec::with_capacity(raw.components.len());
        for e in raw.components {
            if !is_component_name(&e.name) {
                return Err(malformed(format!(
                    "`{}` is not a component name",
                    crate::trust::printable(&e.name)
                )));
            }
            if entries.iter().any(|x| x.name == e.name) {
                return Err(IndexError::DuplicateName(e.name));
            }
            for path in std::iter::once(&e.wasm)
                .chain(std::iter::once(&e.manifest))
                .chain(e.signature.as_ref())
            {
                if !safe_relative(path) {
                    return Err(IndexError::UnsafePath {
                        name: e.name.clone(),
                        path: crate::trust::printable(path),
                    });
                }
            }
            let digest = (e.digest.len() == 64)
                .then(|| blake3::Hash::from_hex(&e.digest).ok())
                .flatten()
                .ok_or_else(|| {
                    malformed(format!(
                        "{}: digest must be 64 hex characters (blake3)",
                        e.name
                    ))
                })?;
            if e.size > MAX_WASM_BYTES {
                return Err(malformed(format!(
                    "{}: size {} is over the {MAX_WASM_BYTES}-byte limit",
                    e.name, e.size
                )));
            }
            entries.push(IndexEntry {
                name: e.name,
                kind: e.kind,
                version: e.version,
                world_version: e.world_version,
                description: e.description,
                digest,
                size: e.size,
                wasm: e.wasm,
                manifest: e.manifest,
                signature: e.signature,
            });
        }
        let skills = crate::skills::registry::from_json(raw.skills, origin)?;
        Ok(Index { entries, skills })
    }

    /// Reads `index.json` from a registry.
    pub async fn load(source: &RegistrySource) -> Result<Index, IndexError> {
        let origin = source.describe(INDEX_FILE);
        let bytes = get(source, INDEX_FILE, MAX_INDEX_BYTES, None, &mut |_, _| {}).await?;
        let text = std::str::from_utf8(&bytes).map_err(|_| IndexError::Malformed {
            origin: origin.clone(),
            reason: "not UTF-8".into(),
        })?;
        Index::parse(text, &origin)
    }

    pub fn get(&self, name: &str) -> Option<&IndexEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// `index.json` text (pretty, entries in the order given).
    pub fn to_json(&self) -> String {
        let raw = IndexJson {
            format: INDEX_FORMAT.to_string(),
            components: self
                .entries
                .iter()
                .map(|e| EntryJson {
                    name: e.name.clone(),
                    kind: e.kind,
                    version: e.version.clone(),
                    world_version: e.world_version.clone(),
                    description: e.description.clone(),
                    digest: e.digest.to_hex().to_string(),
                    size: e.size,
                    wasm: e.wasm.clone(),
                    manifest: e.manifest.clone(),
                    signature: e.signature.clone(),
                })
                .collect(),
            skills: crate::skills::registry::to_json(&self.skills),
        };
        // Serializing plain strings, numbers and versions cannot fail.
        let mut text = serde_json::to_string_pretty(&raw).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Reads one file of the registry (a path checked by [`safe_relative`]),
/// at most `limit` bytes.
pub async fn fetch_file(
    source: &RegistrySource,
    relative: &str,
    limit: u64,
) -> Result<Vec<u8>, IndexError> {
    if !safe_relative(relative) {
        return Err(IndexError::UnsafePath {
            name: "?".into(),
            path: crate::trust::printable(relative),
        });
    }
    get(source, relative, limit, None, &mut |_, _| {}).await
}

pub(super) async fn get_text(
    source: &RegistrySource,
    path: &str,
    limit: u64,
) -> Result<String, IndexError> {
    let bytes = get(source, path, limit, None, &mut |_, _| {}).await?;
    String::from_utf8(bytes).map_err(|_| IndexError::Malformed {
        origin: source.describe(path),
        reason: "not UTF-8".into(),
    })
}

/// Reads `relative` from the registry, refusing more than `limit` bytes
/// (before reading when the size is known up front).
pub(super) async fn get(
    source: &RegistrySource,
    relative: &str,
    limit: u64,
    expected: Option<u64>,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, IndexError> {
    match source {
        RegistrySource::Dir(dir) => read_dir_file(dir, relative, limit, progress).await,
        RegistrySource::Url(base) => {
            let url = format!("{base}/{relative}");
            http_get(&url, limit, expected, progress).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(
            RegistrySource::parse("http://127.0.0.1:8080/reg/").unwrap(),
            RegistrySource::Url("http://127.0.0.1:8080/reg".into())
        );
        assert_eq!(
            RegistrySource::parse("https://example.com").unwrap(),
            RegistrySource::Url("https://example.com".into())
        );
        assert_eq!(
            RegistrySource::parse("target/components").unwrap(),
            RegistrySource::Dir("target/components".into())
        );
        for bad in [
            "",
            "ftp://example.com/x",
            "file:///tmp/x",
            "http://user:pw@example.com/",
            "http://example.com/?q=1",
            "http://",
        ] {
            assert!(
                matches!(
                    RegistrySource::parse(bad),
                    Err(IndexError::InvalidSource(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn relative_paths_are_checked() {
        for ok in ["echo.wasm", "tools/echo-1.0.0+build.wasm", "a/b/c.sig"] {
            assert!(safe_relative(ok), "{ok}");
        }
        for bad in [
            "",
            "../echo.wasm",
            "a/../../echo.wasm",
            "/etc/passwd",
            "./echo.wasm",
            "a//b",
            "a/",
            "C:\\x",
            "a\\..\\b",
            "%2e%2e/x",
            "x?y",
            ".hidden",
            "ech\u{f6}.wasm",
        ] {
            assert!(!safe_relative(bad), "{bad}");
        }
    }

    #[test]
    fn index_round_trips() {
        let index = Index {
            entries: vec![IndexEntry {
                name: "echo".into(),
                kind: ComponentKind::Tool,
                version: Version::new(0, 1, 0),
                world_version: Version::new(0, 1, 0),
                description: "says it back".into(),
                digest: blake3::hash(b"x"),
                size: 1,
                wasm: "echo.wasm".into(),
                manifest: "echo.toml".into(),
                signature: None,
            }],
            skills: Vec::new(),
        };
        let text = index.to_json();
        assert!(text.contains(INDEX_FORMAT));
        assert!(!text.contains("signature"), "{text}");
        assert_eq!(Index::parse(&text, "t").unwrap(), index);
    }
}
