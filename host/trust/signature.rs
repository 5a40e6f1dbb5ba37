//! Sidecar signature files: `<name>.sig` beside `<name>.wasm` and its
//! manifest (why sidecar: see the module docs of `trust`).
//!
//! ```toml
//! format = "ironclaw-component-signature-v1"
//! algorithm = "ed25519"
//! key-id = "3fa9c2d1e0b4a7f6"
//! public-key = "<64 hex>"
//! wasm-digest = "<blake3 of the .wasm, 64 hex>"
//! manifest-digest = "<blake3 of the canonical manifest, 64 hex>"
//! signature = "<128 hex>"
//! ```
//!
//! Only `signature` (with `public-key`) decides anything: it covers the
//! canonical manifest and the wasm digest together. The two digests are
//! copies of what was signed, kept so that verification can name what
//! changed (the `.wasm` or the manifest) instead of only "invalid"; editing
//! them can only turn one refusal into another.

use std::io::Read;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;

use super::canonical;
use super::keys::{ALGORITHM, KeyError, KeyId, SecretKey, verifying_key};
use super::verify::VerifyError;
use super::write_file_atomic;
use crate::registry::discovery::manifest_path_for;
use crate::registry::{Manifest, ManifestError};

pub const SIGNATURE_FORMAT: &str = "ironclaw-component-signature-v1";

/// A signature file is under 1 KiB; a huge one is not a signature file.
const MAX_SIGNATURE_FILE: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFile {
    pub key_id: KeyId,
    pub public_key: VerifyingKey,
    pub wasm_digest: blake3::Hash,
    pub manifest_digest: blake3::Hash,
    pub signature: Signature,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct SignatureToml {
    format: String,
    algorithm: String,
    key_id: String,
    public_key: String,
    wasm_digest: String,
    manifest_digest: String,
    signature: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
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
    #[error("no manifest beside {0} (<name>.toml or component.toml)")]
    NoManifest(String),
    #[error("the new signature does not verify with {0}: refusing to write it")]
    SelfCheck(KeyId),
}

fn malformed(origin: &str, reason: impl Into<String>) -> VerifyError {
    VerifyError::Malformed {
        path: origin.to_string(),
        reason: reason.into(),
    }
}

fn digest(text: &str, field: &str, origin: &str) -> Result<blake3::Hash, VerifyError> {
    if text.len() != 64 {
        return Err(malformed(
            origin,
            format!("{field} must be 64 hex characters"),
        ));
    }
    blake3::Hash::from_hex(text)
        .map_err(|_| malformed(origin, format!("{field} must be 64 hex characters")))
}

impl SignatureFile {
    /// `<stem>.sig` beside the `.wasm`.
    pub fn sidecar_path(wasm: &Path) -> PathBuf {
        wasm.with_extension("sig")
    }

    /// Parses a signature file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<SignatureFile, VerifyError> {
        let file: SignatureToml = toml::from_str(text)
            .map_err(|e| malformed(origin, e.to_string().trim_end().to_string()))?;
        if file.format != SIGNATURE_FORMAT {
            return Err(malformed(
                origin,
                format!(
                    "unsupported format `{}` (expected {SIGNATURE_FORMAT})",
                    file.format
                ),
            ));
        }
        if file.algorithm != ALGORITHM {
            return Err(malformed(
                origin,
                format!(
                    "unsupported algorithm `{}` (expected {ALGORITHM})",
                    file.algorithm
                ),
            ));
        }
        let mut key = [0u8; 32];
        hex::decode_to_slice(&file.public_key, &mut key)
            .map_err(|_| malformed(origin, "public-key must be 64 hex characters"))?;
        let public_key = verifying_key(&key, origin).map_err(|e| match e {
            KeyError::Malformed { reason, .. } => malformed(origin, reason),
            other => malformed(origin, other.to_string()),
        })?;
        let key_id = KeyId::of(&public_key);
        if file.key_id != key_id.as_str() {
            return Err(malformed(
                origin,
                format!(
                    "key-id `{}` does not match public-key (its id is {key_id})",
                    file.key_id
                ),
            ));
        }
        let mut sig = [0u8; 64];
        hex::decode_to_slice(&file.signature, &mut sig)
            .map_err(|_| malformed(origin, "signature must be 128 hex characters"))?;
        Ok(SignatureFile {
            key_id,
            public_key,
            wasm_digest: digest(&file.wasm_digest, "wasm-digest", origin)?,
            manifest_digest: digest(&file.manifest_digest, "manifest-digest", origin)?,
            signature: Signature::from_bytes(&sig),
        })
    }

    /// Reads the sidecar of `wasm`: [`VerifyError::Unsigned`] when there is none.
    pub fn read_sidecar(wasm: &Path) -> Result<(SignatureFile, PathBuf), VerifyError> {
        let path = SignatureFile::sidecar_path(wasm);
        let origin = path.display().to_string();
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VerifyError::Unsigned { path: origin });
            }
            Err(source) => {
                return Err(VerifyError::Read {
                    path: origin,
                    source,
                });
            }
        };
        let mut bytes = Vec::new();
        file.take(MAX_SIGNATURE_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| VerifyError::Read {
                path: origin.clone(),
                source,
            })?;
        if bytes.len() as u64 > MAX_SIGNATURE_FILE {
            return Err(malformed(&origin, "too large to be a signature file"));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| malformed(&origin, "not UTF-8"))?;
        Ok((SignatureFile::parse(text, &origin)?, path))
    }

    /// The file text. The comment line is for people and is not checked.
    pub fn to_file_text(&self, manifest: &Manifest) -> String {
        format!(
            "# Signature of {} {} ({}). Check it with `ironclaw component verify`.\n\
             format = \"{SIGNATURE_FORMAT}\"\n\
             algorithm = \"{ALGORITHM}\"\n\
             key-id = \"{}\"\n\
             public-key = \"{}\"\n\
             wasm-digest = \"{}\"\n\
             manifest-digest = \"{}\"\n\
             signature = \"{}\"\n",
            manifest.name,
            manifest.version,
            manifest.kind.as_str(),
            self.key_id,
            hex::encode(self.public_key.as_bytes()),
            self.wasm_digest.to_hex(),
            self.manifest_digest.to_hex(),
            hex::encode(self.signature.to_bytes()),
        )
    }
}

/// Signs the `.wasm` bytes and their manifest.
pub fn sign(wasm: &[u8], manifest: &Manifest, key: &SecretKey) -> SignatureFile {
    let wasm_digest = blake3::hash(wasm);
    SignatureFile {
        key_id: key.public.id.clone(),
        public_key: key.public.key,
        wasm_digest,
        manifest_digest: canonical::manifest_digest(manifest),
        signature: key.sign(&canonical::signed_message(manifest, &wasm_digest)),
    }
}

/// What [`sign_file`] wrote.
#[derive(Debug)]
pub struct Signed {
    pub manifest: Manifest,
    pub manifest_path: PathBuf,
    pub signature_path: PathBuf,
    pub signature: SignatureFile,
}

/// Signs `wasm_path` with the manifest beside it and writes `<stem>.sig`.
pub fn sign_file(wasm_path: &Path, key: &SecretKey) -> Result<Signed, SignError> {
    let wasm = std::fs::read(wasm_path).map_err(|source| SignError::Read {
        path: wasm_path.display().to_string(),
        source,
    })?;
    let manifest_path = manifest_path_for(wasm_path)
        .ok_or_else(|| SignError::NoManifest(wasm_path.display().to_string()))?;
    let manifest = Manifest::load(&manifest_path)?;
    let signature = sign(&wasm, &manifest, key);
    // Check with the public half before writing: a signature that does not
    // verify must never reach a registry.
    let message = canonical::signed_message(&manifest, &signature.wasm_digest);
    if signature
        .public_key
        .verify_strict(&message, &signature.signature)
        .is_err()
    {
        return Err(SignError::SelfCheck(signature.key_id));
    }
    let signature_path = SignatureFile::sidecar_path(wasm_path);
    write_file_atomic(
        &signature_path,
        signature.to_file_text(&manifest).as_bytes(),
    )
    .map_err(|source| SignError::Write {
        path: signature_path.display().to_string(),
        source,
    })?;
    Ok(Signed {
        manifest,
        manifest_path,
        signature_path,
        signature,
    })
}
