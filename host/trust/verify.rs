//! Verifying a component against its signature and the trust store.
//!
//! Order of checks, each naming what is wrong: the `.wasm` digest the
//! signature names against the actual bytes (`digest-mismatch`), the
//! manifest digest against the manifest (`manifest-changed`), then the
//! ed25519 signature itself over both (`signature-invalid`), and finally
//! whether the signing key is trusted. Only the signature check decides
//! acceptance; the earlier two only choose a more useful message. Digests are
//! compared as `blake3::Hash` (constant-time equality), never as hex text.

use std::path::Path;

use ed25519_dalek::VerifyingKey;

use super::canonical;
use super::keys::KeyId;
use super::signature::SignatureFile;
use super::store::TrustStore;
use crate::registry::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("unsigned: no signature file {path}")]
    Unsigned { path: String },
    #[error("malformed signature file {path}: {reason}")]
    Malformed { path: String, reason: String },
    #[error(
        "digest mismatch: the .wasm changed since it was signed \
         (signed blake3 {signed}, now {actual})"
    )]
    DigestMismatch { signed: String, actual: String },
    #[error("manifest changed since it was signed (what it is or asks for differs)")]
    ManifestChanged,
    #[error("signature invalid: it does not verify with the key it names ({key_id})")]
    SignatureInvalid { key_id: KeyId },
    #[error("untrusted key: signed by {key_id}{}, which this host does not trust (`ironclaw keys trust FILE`)", .name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    Untrusted { key_id: KeyId, name: Option<String> },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

impl VerifyError {
    /// A stable machine-readable name (`--json` status).
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Unsigned { .. } => "unsigned",
            VerifyError::Malformed { .. } => "malformed-signature",
            VerifyError::DigestMismatch { .. } => "digest-mismatch",
            VerifyError::ManifestChanged => "manifest-changed",
            VerifyError::SignatureInvalid { .. } => "signature-invalid",
            VerifyError::Untrusted { .. } => "untrusted-key",
            VerifyError::Read { .. } => "unreadable",
        }
    }
}

/// A valid signature. `trusted` says whether the owner trusts its key:
/// code that runs components must call [`Verified::require_trusted`] (or
/// check `trusted`) — a valid signature by a stranger's key is not a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Verified {
    pub key_id: KeyId,
    pub key_name: Option<String>,
    pub public_key: VerifyingKey,
    pub trusted: bool,
    /// blake3 of the verified `.wasm` bytes.
    pub digest: blake3::Hash,
}

impl Verified {
    pub fn require_trusted(self) -> Result<Verified, VerifyError> {
        if self.trusted {
            Ok(self)
        } else {
            Err(VerifyError::Untrusted {
                key_id: self.key_id,
                name: self.key_name,
            })
        }
    }
}

/// Verifies `wasm` (the bytes that will run) and `manifest` against `sig`.
pub fn verify(
    wasm: &[u8],
    manifest: &Manifest,
    sig: &SignatureFile,
    store: &TrustStore,
) -> Result<Verified, VerifyError> {
    verify_digest(blake3::hash(wasm), manifest, sig, store)
}

/// [`verify`] for a caller that already hashed the bytes it will run
/// (the runtime keys its compile cache by this digest).
pub fn verify_digest(
    digest: blake3::Hash,
    manifest: &Manifest,
    sig: &SignatureFile,
    store: &TrustStore,
) -> Result<Verified, VerifyError> {
    if sig.wasm_digest != digest {
        return Err(VerifyError::DigestMismatch {
            signed: sig.wasm_digest.to_hex().to_string(),
            actual: digest.to_hex().to_string(),
        });
    }
    if sig.manifest_digest != canonical::manifest_digest(manifest) {
        return Err(VerifyError::ManifestChanged);
    }
    let message = canonical::signed_message(manifest, &digest);
    // verify_strict: rejects non-canonical signatures and weak keys, so one
    // signature cannot be massaged into another that also verifies.
    sig.public_key
        .verify_strict(&message, &sig.signature)
        .map_err(|_| VerifyError::SignatureInvalid {
            key_id: sig.key_id.clone(),
        })?;
    Ok(Verified {
        key_id: sig.key_id.clone(),
        key_name: store.name_of(&sig.public_key).map(str::to_string),
        public_key: sig.public_key,
        trusted: store.is_trusted(&sig.public_key),
        digest,
    })
}

/// Reads `wasm_path` and its sidecar signature and verifies them with
/// `manifest`. Returns the bytes it verified, so a caller compiles exactly
/// those and never re-reads a file that may have changed in between.
pub fn verify_file(
    wasm_path: &Path,
    manifest: &Manifest,
    store: &TrustStore,
) -> Result<(Verified, Vec<u8>), VerifyError> {
    let wasm = std::fs::read(wasm_path).map_err(|source| VerifyError::Read {
        path: wasm_path.display().to_string(),
        source,
    })?;
    let (sig, _) = SignatureFile::read_sidecar(wasm_path)?;
    let verified = verify(&wasm, manifest, &sig, store)?;
    Ok((verified, wasm))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::keys::SecretKey;
    use crate::trust::signature::sign;

    const ECHO: &str =
        "name = \"echo\"\nversion = \"0.1.0\"\nkind = \"tool\"\nworld-version = \"0.1.0\"\n";

    fn manifest(text: &str) -> Manifest {
        Manifest::parse(text, "echo.toml").unwrap()
    }

    #[test]
    fn each_kind_of_tampering_has_its_own_error() {
        let key = SecretKey::generate("me").unwrap();
        let m = manifest(ECHO);
        let sig = sign(b"wasm bytes", &m, &key);
        let store = TrustStore::empty();

        let ok = verify(b"wasm bytes", &m, &sig, &store).unwrap();
        assert!(!ok.trusted);
        assert_eq!(ok.key_id, key.public.id);
        assert!(matches!(
            ok.clone().require_trusted(),
            Err(VerifyError::Untrusted { .. })
        ));

        let err = verify(b"wasm bytez", &m, &sig, &store).unwrap_err();
        assert_eq!(err.code(), "digest-mismatch");

        let more = manifest(&format!(
            "{ECHO}[capabilities]\ndb = {{ quota-bytes = 1 }}\n"
        ));
        let err = verify(b"wasm bytes", &more, &sig, &store).unwrap_err();
        assert_eq!(err.code(), "manifest-changed");

        // Someone rewrites the hints to match the edited manifest: the
        // signature still refuses it.
        let mut forged = sig.clone();
        forged.manifest_digest = canonical::manifest_digest(&more);
        let err = verify(b"wasm bytes", &more, &forged, &store).unwrap_err();
        assert_eq!(err.code(), "signature-invalid");

        // Another key's name on this signature.
        let other = SecretKey::generate("other").unwrap();
        let mut forged = sig.clone();
        forged.public_key = other.public.key;
        forged.key_id = other.public.id.clone();
        let err = verify(b"wasm bytes", &m, &forged, &store).unwrap_err();
        assert_eq!(err.code(), "signature-invalid");
    }
}
