//! Skills in a registry: the `skills` array of `index.json` (see
//! `registry/README.md`), built by `ironclaw registry build` from
//! `DIR/skills/<name>.md` (signed as `DIR/skills/<name>.sig`), and fetched
//! by `ironclaw skills install`: the file first, checked against the index
//! digest, then its signature.

use std::path::{Path, PathBuf};

use semver::Version;
use serde::{Deserialize, Serialize};

use super::MAX_SKILL_FILE_BYTES;
use super::parse;
use super::sign::{self, SkillSignature};
use crate::registry::index::{
    IndexError, MAX_SIGNATURE_BYTES, RegistrySource, fetch_file, safe_relative,
};
use crate::registry::manifest::is_component_name;
use crate::trust::{SecretKey, TrustStore};

/// Where `registry build` looks for skills inside the registry directory.
pub const SKILLS_SUBDIR: &str = "skills";

/// One skill listed in an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillEntry {
    pub name: String,
    pub version: Option<Version>,
    pub description: String,
    /// blake3 of the file bytes.
    pub digest: blake3::Hash,
    pub size: u64,
    /// Paths relative to the registry root.
    pub file: String,
    pub signature: Option<String>,
}

/// The JSON form (`index.json` → `skills[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SkillEntryJson {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<Version>,
    #[serde(default)]
    description: String,
    digest: String,
    size: u64,
    file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

/// Checks the `skills` of an index, all or nothing like the components
/// (a skill may share a component's name: they are different things).
pub fn from_json(raw: Vec<SkillEntryJson>, origin: &str) -> Result<Vec<SkillEntry>, IndexError> {
    let malformed = |reason: String| IndexError::Malformed {
        origin: origin.to_string(),
        reason,
    };
    let mut out: Vec<SkillEntry> = Vec::with_capacity(raw.len());
    for e in raw {
        if !is_component_name(&e.name) {
            return Err(malformed(format!(
                "skills: `{}` is not a skill name",
                crate::trust::printable(&e.name)
            )));
        }
        if out.iter().any(|x| x.name == e.name) {
            return Err(IndexError::DuplicateName(format!("skill {}", e.name)));
        }
        for path in std::iter::once(&e.file).chain(e.signature.as_ref()) {
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
                    "skill {}: digest must be 64 hex characters (blake3)",
                    e.name
                ))
            })?;
        if e.size > MAX_SKILL_FILE_BYTES as u64 {
            return Err(malformed(format!(
                "skill {}: size {} is over the {MAX_SKILL_FILE_BYTES}-byte limit",
                e.name, e.size
            )));
        }
        out.push(SkillEntry {
            name: e.name,
            version: e.version,
            description: e.description,
            digest,
            size: e.size,
            file: e.file,
            signature: e.signature,
        });
    }
    Ok(out)
}

pub fn to_json(entries: &[SkillEntry]) -> Vec<SkillEntryJson> {
    entries
        .iter()
        .map(|e| SkillEntryJson {
            name: e.name.clone(),
            version: e.version.clone(),
            description: e.description.clone(),
            digest: e.digest.to_hex().to_string(),
            size: e.size,
            file: e.file.clone(),
            signature: e.signature.clone(),
        })
        .collect()
}

/// What [`build`] did for one skill.
#[derive(Debug)]
pub struct BuiltSkill {
    pub entry: SkillEntry,
    pub signed_now: bool,
    pub key_id: Option<String>,
}

/// Indexes `dir/skills/<name>.md`, signing each with `key` when given
/// (`<name>.sig`). Without a key an existing signature must still be valid
/// (by any key: trust is the installer's decision). No `skills/` is no skills.
pub fn build(dir: &Path, key: Option<&SecretKey>) -> Result<Vec<BuiltSkill>, IndexError> {
    let skills_dir = dir.join(SKILLS_SUBDIR);
    let read_err = |path: &Path, source: std::io::Error| IndexError::Read {
        path: path.display().to_string(),
        source,
    };
    let entries = match std::fs::read_dir(&skills_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_err(&skills_dir, e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md") && p.is_file())
        .collect();
    files.sort();
    let mut out: Vec<BuiltSkill> = Vec::new();
    for path in files {
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let relative = format!("{SKILLS_SUBDIR}/{file_name}");
        let invalid = |reason: String| IndexError::Malformed {
            origin: path.display().to_string(),
            reason,
        };
        if !safe_relative(&relative) {
            return Err(IndexError::UnsafePath {
                name: "?".into(),
                path: path.display().to_string(),
            });
        }
        let bytes = std::fs::read(&path).map_err(|e| read_err(&path, e))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| invalid("not UTF-8".into()))?;
        let skill =
            parse::parse(text, &path.display().to_string()).map_err(|e| invalid(e.to_string()))?;
        if path.file_stem().and_then(|s| s.to_str()) != Some(skill.name.as_str()) {
            return Err(invalid(format!(
                "the file of skill `{}` must be named {}.md",
                skill.name, skill.name
            )));
        }
        if out.iter().any(|b| b.entry.name == skill.name) {
            return Err(IndexError::DuplicateName(format!("skill {}", skill.name)));
        }
        let sig_path = path.with_extension("sig");
        let (signed_now, key_id) = match key {
            Some(key) => {
                let sig = sign::sign(&skill.name, &bytes, key);
                sign::verify(&skill.name, &bytes, &sig, &TrustStore::empty()).map_err(
                    |reason| IndexError::StaleSignature {
                        path: sig_path.display().to_string(),
                        wasm: path.display().to_string(),
                        reason,
                    },
                )?;
                crate::trust::write_file_atomic(&sig_path, sig.to_file_text().as_bytes()).map_err(
                    |source| IndexError::Write {
                        path: sig_path.display().to_string(),
                        source,
                    },
                )?;
                (true, Some(key.public.id.to_string()))
            }
            None if sig_path.exists() => {
                let stale = |reason| IndexError::StaleSignature {
                    path: sig_path.display().to_string(),
                    wasm: path.display().to_string(),
                    reason,
                };
                let text =
                    std::fs::read_to_string(&sig_path).map_err(|e| read_err(&sig_path, e))?;
                let sig =
                    SkillSignature::parse(&text, &sig_path.display().to_string()).map_err(stale)?;
                let ok =
                    sign::verify(&skill.name, &bytes, &sig, &TrustStore::empty()).map_err(stale)?;
                (false, Some(ok.key_id.to_string()))
            }
            None => (false, None),
        };
        out.push(BuiltSkill {
            entry: SkillEntry {
                name: skill.name.clone(),
                version: skill.version.clone(),
                description: skill.description.clone(),
                digest: blake3::hash(&bytes),
                size: bytes.len() as u64,
                signature: key_id
                    .is_some()
                    .then(|| format!("{SKILLS_SUBDIR}/{}.sig", skill.name)),
                file: relative,
            },
            signed_now,
            key_id,
        });
    }
    out.sort_by(|a, b| a.entry.name.cmp(&b.entry.name));
    Ok(out)
}

/// A skill file downloaded and matched against its index digest.
#[derive(Debug, Clone)]
pub struct FetchedSkill {
    pub bytes: Vec<u8>,
    pub signature_text: Option<String>,
}

/// Downloads `entry`'s file, refuses it unless its blake3 is the index
/// digest, then downloads its signature (returned unverified).
pub async fn fetch(
    source: &RegistrySource,
    entry: &SkillEntry,
) -> Result<FetchedSkill, IndexError> {
    let limit = entry.size.min(MAX_SKILL_FILE_BYTES as u64);
    let bytes = fetch_file(source, &entry.file, limit).await?;
    let digest = blake3::hash(&bytes);
    // blake3::Hash equality is constant-time.
    if digest != entry.digest {
        return Err(IndexError::DigestMismatch {
            name: entry.name.clone(),
            expected: entry.digest.to_hex().to_string(),
            actual: digest.to_hex().to_string(),
        });
    }
    let signature_text = match &entry.signature {
        Some(path) => {
            let bytes = fetch_file(source, path, MAX_SIGNATURE_BYTES).await?;
            Some(String::from_utf8(bytes).map_err(|_| IndexError::Malformed {
                origin: source.describe(path),
                reason: "not UTF-8".into(),
            })?)
        }
        None => None,
    };
    Ok(FetchedSkill {
        bytes,
        signature_text,
    })
}
