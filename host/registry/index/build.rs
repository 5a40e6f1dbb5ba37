//! `ironclaw registry build`: sign a directory of components and write its
//! `index.json`.

use super::*;

/// What [`build`] reports for each component it indexed.
#[derive(Debug)]
pub struct BuiltEntry<'a> {
    pub entry: &'a IndexEntry,
    /// Signed now with the given key (else an existing `.sig` was kept, or
    /// there is none).
    pub signed_now: bool,
    /// The key that signed it, now or before.
    pub key_id: Option<String>,
}

/// Indexes every `<name>.wasm` + `<name>.toml` in `dir`, signing each with
/// `key` when given (writes `<name>.sig`), and writes `dir/index.json`.
///
/// Without a key, an existing `<name>.sig` is listed only if it is a valid
/// signature over this `.wasm` and manifest (by any key: trust is the
/// installer's decision); a stale one is an error, never silently listed
/// or dropped.
pub fn build(
    dir: &Path,
    key: Option<&SecretKey>,
    progress: &mut dyn FnMut(&BuiltEntry<'_>),
) -> Result<Index, IndexError> {
    let read_err = |path: &Path, source: std::io::Error| IndexError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut wasms: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
        .collect();
    wasms.sort();
    let mut entries: Vec<IndexEntry> = Vec::new();
    for wasm_path in wasms {
        let file_name = |p: &Path| p.file_name().and_then(|n| n.to_str()).map(str::to_string);
        let Some(wasm_name) = file_name(&wasm_path).filter(|n| safe_relative(n)) else {
            return Err(IndexError::UnsafePath {
                name: "?".into(),
                path: wasm_path.display().to_string(),
            });
        };
        let manifest_path = wasm_path.with_extension("toml");
        if !manifest_path.is_file() {
            return Err(IndexError::NoManifest(wasm_path.display().to_string()));
        }
        let manifest = Manifest::load(&manifest_path)?;
        if entries.iter().any(|e| e.name == manifest.name) {
            return Err(IndexError::DuplicateName(manifest.name));
        }
        let bytes = std::fs::read(&wasm_path).map_err(|e| read_err(&wasm_path, e))?;
        if bytes.len() as u64 > MAX_WASM_BYTES {
            return Err(IndexError::TooLarge {
                what: wasm_path.display().to_string(),
                limit: MAX_WASM_BYTES,
            });
        }
        let digest = blake3::hash(&bytes);
        let sig_path = SignatureFile::sidecar_path(&wasm_path);
        let (signed_now, key_id) = match key {
            Some(key) => {
                let signed = crate::trust::sign_file(&wasm_path, key)?;
                if signed.signature.wasm_digest != digest || signed.manifest != manifest {
                    return Err(IndexError::Read {
                        path: wasm_path.display().to_string(),
                        source: std::io::Error::other("changed while it was being indexed"),
                    });
                }
                (true, Some(key.public.id.to_string()))
            }
            None if sig_path.exists() => {
                let stale = |reason| IndexError::StaleSignature {
                    path: sig_path.display().to_string(),
                    wasm: wasm_path.display().to_string(),
                    reason,
                };
                let (sig, _) = SignatureFile::read_sidecar(&wasm_path).map_err(stale)?;
                // Trust is not decided here, only validity.
                let ok = crate::trust::verify(&bytes, &manifest, &sig, &TrustStore::empty())
                    .map_err(stale)?;
                (false, Some(ok.key_id.to_string()))
            }
            None => (false, None),
        };
        let signature = if key_id.is_some() {
            Some(file_name(&sig_path).ok_or_else(|| IndexError::UnsafePath {
                name: manifest.name.clone(),
                path: sig_path.display().to_string(),
            })?)
        } else {
            None
        };
        let manifest_name = file_name(&manifest_path).filter(|n| safe_relative(n));
        let Some(manifest_name) = manifest_name else {
            return Err(IndexError::UnsafePath {
                name: manifest.name.clone(),
                path: manifest_path.display().to_string(),
            });
        };
        entries.push(IndexEntry {
            name: manifest.name,
            kind: manifest.kind,
            version: manifest.version,
            world_version: manifest.world_version,
            description: manifest.description,
            digest,
            size: bytes.len() as u64,
            wasm: wasm_name,
            manifest: manifest_name,
            signature,
        });
        if let Some(entry) = entries.last() {
            progress(&BuiltEntry {
                entry,
                signed_now,
                key_id,
            });
        }
    }
    let skills: Vec<_> = crate::skills::registry::build(dir, key)?
        .into_iter()
        .map(|b| b.entry)
        .collect();
    if entries.is_empty() && skills.is_empty() {
        return Err(IndexError::Empty(dir.display().to_string()));
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let index = Index { entries, skills };
    let path = dir.join(INDEX_FILE);
    crate::trust::write_file_atomic(&path, index.to_json().as_bytes()).map_err(|source| {
        IndexError::Write {
            path: path.display().to_string(),
            source,
        }
    })?;
    Ok(index)
}
