//! Installing a skill from a registry and removing it again.
//!
//! An installed skill is a directory `IRONCLAW_HOME/skills-installed/<name>/`
//! holding `SKILL.md`, its signature `SKILL.sig` and `origin.json` (where it
//! came from, its digest and signer). Every load checks the file against
//! the recorded digest and the signature, and the signer against the trust
//! store, so an edited file or an untrusted key retires the skill.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SkillError;
use super::catalog::{SKILL_FILE, installed_dir, trusted_dir};
use super::parse::{self, SkillFile};
use super::registry::{FetchedSkill, SkillEntry};
use super::sign::{self, SkillSignature, SkillVerified};
use crate::config::Home;
use crate::registry::index::IndexError;
use crate::trust::{TrustStore, VerifyError};

pub const SIGNATURE_FILE: &str = "SKILL.sig";
pub const ORIGIN_FILE: &str = "origin.json";
const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// Where an installed skill came from (`origin.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Origin {
    /// The registry and file it was fetched from.
    pub registry: String,
    pub version: Option<String>,
    /// blake3 of `SKILL.md`.
    pub digest: String,
    /// The key id that signed it.
    pub signer: String,
    #[serde(default)]
    pub signer_name: Option<String>,
    /// Installed with `--allow-untrusted`: its signer need not be trusted.
    #[serde(default)]
    pub allowed_untrusted: bool,
    pub installed_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Invalid(#[from] SkillError),
    #[error("{0}: the file names another skill or version than the index ({1})")]
    EntryMismatch(String, String),
    #[error(
        "{0}: unsigned: the registry lists no signature for it, and skills are installed only signed"
    )]
    Unsigned(String),
    #[error(
        "{name}: the signature is for another file (signed blake3 {signed}, this file {actual}): refused"
    )]
    SignedOther {
        name: String,
        signed: String,
        actual: String,
    },
    #[error("{name}: {source}")]
    Verify { name: String, source: VerifyError },
    #[error("{name}: a trusted skill of that name exists ({path}); rename or delete it first")]
    ShadowsTrusted { name: String, path: String },
    #[error("{name} is a trusted skill (the owner's own file): delete {path} to remove it")]
    IsTrusted { name: String, path: String },
    #[error("no installed skill named `{0}`")]
    NotInstalled(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// What [`install`] did.
#[derive(Debug)]
pub struct Installed {
    pub skill: SkillFile,
    pub signer: SkillVerified,
    pub replaced: Option<Option<String>>,
    pub path: PathBuf,
}

/// Checks a fetched skill (digest already matched by [`super::registry::fetch`])
/// and writes it to `skills-installed/<name>/`: the file must name the
/// entry's skill and version, be signed, and (unless `allow_untrusted`) by
/// a key the owner trusts.
pub fn install(
    home: &Home,
    registry: &str,
    entry: &SkillEntry,
    fetched: &FetchedSkill,
    trust: &TrustStore,
    allow_untrusted: bool,
) -> Result<Installed, InstallError> {
    let origin_text = format!("{registry}/{}", entry.file);
    let text = std::str::from_utf8(&fetched.bytes).map_err(|_| SkillError::Invalid {
        path: origin_text.clone(),
        field: "file".into(),
        reason: "not UTF-8".into(),
    })?;
    let skill = parse::parse(text, &origin_text)?;
    // Check the patterns now: a skill that would never load is not installed.
    super::catalog::compile_patterns(&skill.patterns, &origin_text)?;
    if skill.name != entry.name || (entry.version.is_some() && skill.version != entry.version) {
        return Err(InstallError::EntryMismatch(
            entry.name.clone(),
            format!(
                "file: {} {}",
                skill.name,
                skill
                    .version
                    .as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            ),
        ));
    }
    let Some(sig_text) = &fetched.signature_text else {
        return Err(InstallError::Unsigned(entry.name.clone()));
    };
    let verify_err = |source| InstallError::Verify {
        name: entry.name.clone(),
        source,
    };
    let sig = SkillSignature::parse(sig_text, &format!("{registry}/{}.sig", entry.name))
        .map_err(verify_err)?;
    let signer = sign::verify(&skill.name, &fetched.bytes, &sig, trust).map_err(|e| match e {
        // The component wording (".wasm changed") would mislead here.
        VerifyError::DigestMismatch { signed, actual } => InstallError::SignedOther {
            name: entry.name.clone(),
            signed,
            actual,
        },
        other => verify_err(other),
    })?;
    if !signer.trusted && !allow_untrusted {
        return Err(verify_err(VerifyError::Untrusted {
            key_id: signer.key_id,
            name: signer.key_name,
        }));
    }
    let trusted_path = trusted_dir(home).join(&skill.name);
    if trusted_path.exists() {
        return Err(InstallError::ShadowsTrusted {
            name: skill.name,
            path: trusted_path.display().to_string(),
        });
    }
    let origin = Origin {
        registry: origin_text,
        version: skill.version.as_ref().map(|v| v.to_string()),
        digest: blake3::hash(&fetched.bytes).to_hex().to_string(),
        signer: signer.key_id.to_string(),
        signer_name: signer.key_name.clone(),
        allowed_untrusted: !signer.trusted,
        installed_at_ms: crate::store::now_ms(),
    };
    let root = installed_dir(home);
    let final_dir = root.join(&skill.name);
    let replaced = read_origin(&final_dir).ok().map(|o| o.version);
    write_dir(
        &root,
        &skill.name,
        &[
            (SKILL_FILE, fetched.bytes.clone()),
            (SIGNATURE_FILE, sig_text.clone().into_bytes()),
            (
                ORIGIN_FILE,
                serde_json::to_vec_pretty(&origin).unwrap_or_default(),
            ),
        ],
    )?;
    Ok(Installed {
        skill,
        signer,
        replaced,
        path: final_dir,
    })
}

/// Writes the files into a fresh directory beside `root/name` and swaps it
/// in, so a loading host sees the old skill or the new one, never half.
fn write_dir(root: &Path, name: &str, files: &[(&str, Vec<u8>)]) -> Result<(), InstallError> {
    let write_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| InstallError::Write { path, source }
    };
    let pid = std::process::id();
    let tmp = root.join(format!(".{name}.new-{pid}"));
    let old = root.join(format!(".{name}.old-{pid}"));
    let final_dir = root.join(name);
    std::fs::create_dir_all(&tmp).map_err(write_err(&tmp))?;
    for (file, bytes) in files {
        let path = tmp.join(file);
        std::fs::write(&path, bytes).map_err(write_err(&path))?;
    }
    if final_dir.exists() {
        std::fs::rename(&final_dir, &old).map_err(write_err(&final_dir))?;
    }
    let moved = std::fs::rename(&tmp, &final_dir).map_err(write_err(&final_dir));
    if moved.is_err() && old.exists() {
        let _ = std::fs::rename(&old, &final_dir);
    }
    let _ = std::fs::remove_dir_all(&old);
    let _ = std::fs::remove_dir_all(&tmp);
    moved
}

/// Removes the installed skill `name`. A trusted skill is the owner's own
/// file and is never deleted by a command.
pub fn remove(home: &Home, name: &str) -> Result<PathBuf, InstallError> {
    if !crate::registry::manifest::is_component_name(name) {
        return Err(InstallError::NotInstalled(crate::trust::printable(name)));
    }
    let dir = installed_dir(home).join(name);
    if dir.is_dir() {
        std::fs::remove_dir_all(&dir).map_err(|source| InstallError::Write {
            path: dir.display().to_string(),
            source,
        })?;
        return Ok(dir);
    }
    let trusted = trusted_dir(home).join(name).join(SKILL_FILE);
    if trusted.exists() {
        return Err(InstallError::IsTrusted {
            name: name.to_string(),
            path: trusted.display().to_string(),
        });
    }
    Err(InstallError::NotInstalled(name.to_string()))
}

fn read_small(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_RECORD_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text)
}

pub fn read_origin(dir: &Path) -> Result<Origin, String> {
    let path = dir.join(ORIGIN_FILE);
    let text = read_small(&path)?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The load-time check of an installed skill (see the module docs).
pub fn check_installed(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    trust: &TrustStore,
) -> Result<Origin, String> {
    let origin = read_origin(dir)?;
    let digest = blake3::hash(bytes).to_hex().to_string();
    if digest != origin.digest {
        return Err(format!(
            "{}: changed since it was installed (installed blake3 {}, now {digest}): install it again",
            dir.join(SKILL_FILE).display(),
            origin.digest
        ));
    }
    let sig_path = dir.join(SIGNATURE_FILE);
    let sig = SkillSignature::parse(&read_small(&sig_path)?, &sig_path.display().to_string())
        .map_err(|e| e.to_string())?;
    let verified =
        sign::verify(name, bytes, &sig, trust).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !verified.trusted && !origin.allowed_untrusted {
        return Err(format!(
            "{}: {}",
            dir.display(),
            VerifyError::Untrusted {
                key_id: verified.key_id,
                name: verified.key_name,
            }
        ));
    }
    Ok(origin)
}
