//! Downloading one index entry: the `.wasm` first, checked against the
//! index digest before anything else is read, then its manifest (which must
//! name the same component) and signature (returned for the caller to
//! verify against its trust store).

use super::{
    IndexEntry, IndexError, MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES, MAX_WASM_BYTES,
    RegistrySource, get, get_text, safe_relative,
};
use crate::registry::manifest::Manifest;

/// What [`fetch`] downloaded, after the `.wasm` matched the index digest.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub wasm: Vec<u8>,
    /// blake3 of `wasm` (equal to the entry's digest).
    pub digest: blake3::Hash,
    pub manifest_text: String,
    /// `None` when the index lists no signature for the entry.
    pub signature_text: Option<String>,
}

/// Downloads an entry's `.wasm`, checks it against the index digest, then
/// (only if it matches) its manifest and signature. `progress` sees the
/// `.wasm` download: bytes so far and the total when known.
///
/// The manifest must name the same component (name, version, kind, world
/// version) as the entry; the signature is returned unverified — the caller
/// verifies it with its trust store.
pub async fn fetch(
    source: &RegistrySource,
    entry: &IndexEntry,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Fetched, IndexError> {
    for path in std::iter::once(&entry.wasm)
        .chain(std::iter::once(&entry.manifest))
        .chain(entry.signature.as_ref())
    {
        if !safe_relative(path) {
            return Err(IndexError::UnsafePath {
                name: entry.name.clone(),
                path: crate::trust::printable(path),
            });
        }
    }
    let limit = entry.size.min(MAX_WASM_BYTES);
    let wasm = get(source, &entry.wasm, limit, Some(entry.size), progress).await?;
    let digest = blake3::hash(&wasm);
    // blake3::Hash equality is constant-time.
    if digest != entry.digest {
        return Err(IndexError::DigestMismatch {
            name: entry.name.clone(),
            expected: entry.digest.to_hex().to_string(),
            actual: digest.to_hex().to_string(),
        });
    }
    let manifest_text = get_text(source, &entry.manifest, MAX_MANIFEST_BYTES).await?;
    let manifest = Manifest::parse(&manifest_text, &source.describe(&entry.manifest))?;
    check_entry(entry, &manifest)?;
    let signature_text = match &entry.signature {
        Some(path) => Some(get_text(source, path, MAX_SIGNATURE_BYTES).await?),
        None => None,
    };
    Ok(Fetched {
        wasm,
        digest,
        manifest_text,
        signature_text,
    })
}

fn check_entry(entry: &IndexEntry, manifest: &Manifest) -> Result<(), IndexError> {
    let differs = |field: &str, index: String, manifest: String| IndexError::EntryMismatch {
        name: entry.name.clone(),
        reason: format!(
            "{field}: index says `{}`, manifest says `{}`",
            crate::trust::printable(&index),
            crate::trust::printable(&manifest)
        ),
    };
    if manifest.name != entry.name {
        return Err(differs("name", entry.name.clone(), manifest.name.clone()));
    }
    if manifest.version != entry.version {
        return Err(differs(
            "version",
            entry.version.to_string(),
            manifest.version.to_string(),
        ));
    }
    if manifest.kind != entry.kind {
        return Err(differs(
            "kind",
            entry.kind.as_str().into(),
            manifest.kind.as_str().into(),
        ));
    }
    if manifest.world_version != entry.world_version {
        return Err(differs(
            "world-version",
            entry.world_version.to_string(),
            manifest.world_version.to_string(),
        ));
    }
    Ok(())
}
