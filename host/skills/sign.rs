//! Skill signatures: an ed25519 signature by a publisher key (the same keys
//! and trust store as components, [`crate::trust`]) over
//! `ironclaw-skill-signature-v1\n<name>\n<blake3 of SKILL.md, hex>`.
//!
//! The domain prefix differs from the component one, so a component
//! signature can never pass for a skill signature or back. The name is in
//! the message so that a signature cannot be moved to another index entry;
//! the digest covers every byte of the file, frontmatter included.
//!
//! ```toml
//! format = "ironclaw-skill-signature-v1"
//! algorithm = "ed25519"
//! key-id = "3fa9c2d1e0b4a7f6"
//! public-key = "<64 hex>"
//! skill = "release-notes"
//! skill-digest = "<blake3 of SKILL.md, 64 hex>"
//! signature = "<128 hex>"
//! ```

use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;

use crate::trust::keys::{ALGORITHM, verifying_key};
use crate::trust::{KeyId, SecretKey, TrustStore, VerifyError};

pub const SKILL_SIGNATURE_FORMAT: &str = "ironclaw-skill-signature-v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillSignature {
    pub key_id: KeyId,
    pub public_key: VerifyingKey,
    pub skill: String,
    pub digest: blake3::Hash,
    pub signature: Signature,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct SignatureToml {
    format: String,
    algorithm: String,
    key_id: String,
    public_key: String,
    skill: String,
    skill_digest: String,
    signature: String,
}

/// A valid skill signature and whether the owner trusts its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillVerified {
    pub key_id: KeyId,
    pub key_name: Option<String>,
    pub trusted: bool,
}

fn message(name: &str, digest: &blake3::Hash) -> Vec<u8> {
    format!("{SKILL_SIGNATURE_FORMAT}\n{name}\n{}", digest.to_hex()).into_bytes()
}

fn malformed(origin: &str, reason: impl Into<String>) -> VerifyError {
    VerifyError::Malformed {
        path: origin.to_string(),
        reason: reason.into(),
    }
}

impl SkillSignature {
    pub fn parse(text: &str, origin: &str) -> Result<SkillSignature, VerifyError> {
        let file: SignatureToml = toml::from_str(text)
            .map_err(|e| malformed(origin, e.to_string().trim_end().to_string()))?;
        if file.format != SKILL_SIGNATURE_FORMAT {
            return Err(malformed(
                origin,
                format!(
                    "unsupported format `{}` (expected {SKILL_SIGNATURE_FORMAT})",
                    file.format
                ),
            ));
        }
        if file.algorithm != ALGORITHM {
            return Err(malformed(
                origin,
                format!("unsupported algorithm `{}`", file.algorithm),
            ));
        }
        let mut key = [0u8; 32];
        hex::decode_to_slice(&file.public_key, &mut key)
            .map_err(|_| malformed(origin, "public-key must be 64 hex characters"))?;
        let public_key =
            verifying_key(&key, origin).map_err(|e| malformed(origin, e.to_string()))?;
        let key_id = KeyId::of(&public_key);
        if file.key_id != key_id.as_str() {
            return Err(malformed(origin, "key-id does not match public-key"));
        }
        let digest = (file.skill_digest.len() == 64)
            .then(|| blake3::Hash::from_hex(&file.skill_digest).ok())
            .flatten()
            .ok_or_else(|| malformed(origin, "skill-digest must be 64 hex characters"))?;
        let mut sig = [0u8; 64];
        hex::decode_to_slice(&file.signature, &mut sig)
            .map_err(|_| malformed(origin, "signature must be 128 hex characters"))?;
        Ok(SkillSignature {
            key_id,
            public_key,
            skill: file.skill,
            digest,
            signature: Signature::from_bytes(&sig),
        })
    }

    pub fn to_file_text(&self) -> String {
        format!(
            "# Signature of skill {}.\n\
             format = \"{SKILL_SIGNATURE_FORMAT}\"\n\
             algorithm = \"{ALGORITHM}\"\n\
             key-id = \"{}\"\n\
             public-key = \"{}\"\n\
             skill = \"{}\"\n\
             skill-digest = \"{}\"\n\
             signature = \"{}\"\n",
            self.skill,
            self.key_id,
            hex::encode(self.public_key.as_bytes()),
            self.skill,
            self.digest.to_hex(),
            hex::encode(self.signature.to_bytes()),
        )
    }
}

/// Signs the skill `name` whose file is `bytes`.
pub fn sign(name: &str, bytes: &[u8], key: &SecretKey) -> SkillSignature {
    let digest = blake3::hash(bytes);
    SkillSignature {
        key_id: key.public.id.clone(),
        public_key: key.public.key,
        skill: name.to_string(),
        digest,
        signature: key.sign(&message(name, &digest)),
    }
}

/// Checks `sig` over the skill `name` whose file is `bytes`: the digest
/// (which names what changed), then the signature (which decides). Trust
/// is reported, not required: the caller decides.
pub fn verify(
    name: &str,
    bytes: &[u8],
    sig: &SkillSignature,
    store: &TrustStore,
) -> Result<SkillVerified, VerifyError> {
    let digest = blake3::hash(bytes);
    if sig.digest != digest {
        return Err(VerifyError::DigestMismatch {
            signed: sig.digest.to_hex().to_string(),
            actual: digest.to_hex().to_string(),
        });
    }
    // The name comes from the caller (the index entry, the file), never
    // from the signature file: a signature for another skill fails here.
    sig.public_key
        .verify_strict(&message(name, &digest), &sig.signature)
        .map_err(|_| VerifyError::SignatureInvalid {
            key_id: sig.key_id.clone(),
        })?;
    Ok(SkillVerified {
        key_id: sig.key_id.clone(),
        key_name: store.name_of(&sig.public_key).map(str::to_string),
        trusted: store.is_trusted(&sig.public_key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_each_tampering() {
        let key = SecretKey::generate("me").unwrap();
        let sig = sign("notes", b"---\nname: notes\n", &key);
        let text = sig.to_file_text();
        let parsed = SkillSignature::parse(&text, "notes.sig").unwrap();
        assert_eq!(parsed, sig);
        let store = TrustStore::empty();
        let ok = verify("notes", b"---\nname: notes\n", &parsed, &store).unwrap();
        assert!(!ok.trusted);
        let e = verify("notes", b"---\nname: nodes\n", &parsed, &store).unwrap_err();
        assert_eq!(e.code(), "digest-mismatch");
        let e = verify("other", b"---\nname: notes\n", &parsed, &store).unwrap_err();
        assert_eq!(e.code(), "signature-invalid");
        let bad = text.replace(SKILL_SIGNATURE_FORMAT, "ironclaw-component-signature-v1");
        let e = SkillSignature::parse(&bad, "notes.sig").unwrap_err();
        assert_eq!(e.code(), "malformed-signature");
    }
}
