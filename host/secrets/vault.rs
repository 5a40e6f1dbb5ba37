//! The vault: secret values in, ciphertext to the store, values back out.
//!
//! Each value is encrypted to the master key as an age file whose plaintext
//! also names the secret (`ironclaw-secret-v1\n<name>\n<value>`). The name
//! inside is checked on the way out, so someone who can write the database
//! but lacks the key cannot move one secret's ciphertext under another
//! name (and so send it to hosts granted only the other secret).

use std::io::{Read, Write};
use std::sync::Arc;

use zeroize::Zeroizing;

use super::master::MasterKey;
use super::value::SecretValue;
use crate::store::StoreError;
use crate::store::domains::{SecretRecord, SecretStore};

pub const MAX_NAME_CHARS: usize = 64;
/// Large enough for any API key, token or PEM bundle a component needs.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
const ENVELOPE: &[u8] = b"ironclaw-secret-v1\n";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    // The name is not echoed: a value pasted where a name belongs must not
    // end up on the terminal or in a log.
    #[error(
        "invalid secret name: {reason}. A name is 1-64 characters of A-Z, a-z, 0-9, \
         '_', '.' and '-', e.g. openai_api_key (the name given is not shown)"
    )]
    InvalidName { reason: &'static str },
    #[error("secret `{name}`: an empty value is refused")]
    EmptyValue { name: String },
    #[error("secret `{name}`: the value is {size} bytes, over the limit of {max}")]
    TooLarge {
        name: String,
        size: usize,
        max: usize,
    },
    #[error("cannot decrypt secret `{name}` with {key}: {reason}")]
    Decrypt {
        name: String,
        /// Where the key in use came from (never the key).
        key: String,
        reason: &'static str,
    },
    #[error("cannot encrypt secret `{name}`: {reason}")]
    Encrypt { name: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `name` is a valid secret name.
pub fn is_secret_name(name: &str) -> bool {
    validate_name(name).is_ok()
}

/// Checks a secret name; the error says what is wrong without quoting it.
pub fn validate_name(name: &str) -> Result<(), VaultError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.chars().count() > MAX_NAME_CHARS {
        "it is longer than 64 characters"
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        "it contains a character that is not allowed"
    } else {
        return Ok(());
    };
    Err(VaultError::InvalidName { reason })
}

pub struct Vault {
    store: Arc<dyn SecretStore>,
    key: MasterKey,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Vault {
    pub fn new(store: Arc<dyn SecretStore>, key: MasterKey) -> Vault {
        Vault { store, key }
    }

    pub fn key(&self) -> &MasterKey {
        &self.key
    }

    /// Stores (or replaces) `name`.
    pub async fn set(&self, name: &str, value: &SecretValue) -> Result<(), VaultError> {
        validate_name(name)?;
        if value.is_empty() {
            return Err(VaultError::EmptyValue { name: name.into() });
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(VaultError::TooLarge {
                name: name.into(),
                size: value.len(),
                max: MAX_VALUE_BYTES,
            });
        }
        let ciphertext = self.encrypt(name, value)?;
        self.store.put(name, &ciphertext).await?;
        tracing::debug!(secret = name, "secret stored");
        Ok(())
    }

    /// The value of `name`, or `None` when it is not set.
    pub async fn get(&self, name: &str) -> Result<Option<SecretValue>, VaultError> {
        validate_name(name)?;
        match self.store.ciphertext(name).await? {
            Some(ciphertext) => self.decrypt(name, &ciphertext).map(Some),
            None => Ok(None),
        }
    }

    /// `false` when there was no such secret.
    pub async fn remove(&self, name: &str) -> Result<bool, VaultError> {
        validate_name(name)?;
        let removed = self.store.delete(name).await?;
        tracing::debug!(secret = name, removed, "secret removed");
        Ok(removed)
    }

    /// Names and dates, never values.
    pub async fn list(&self) -> Result<Vec<SecretRecord>, VaultError> {
        Ok(self.store.list().await?)
    }

    /// Every stored secret, decrypted: the leak scanner's exact-value list.
    /// One that cannot be decrypted fails the whole call, so a scanner is
    /// never quietly built without it.
    pub async fn all_values(&self) -> Result<Vec<(String, SecretValue)>, VaultError> {
        let mut out = Vec::new();
        for record in self.store.list().await? {
            // Removed since the listing: nothing left to guard.
            if let Some(ciphertext) = self.store.ciphertext(&record.name).await? {
                let value = self.decrypt(&record.name, &ciphertext)?;
                out.push((record.name, value));
            }
        }
        Ok(out)
    }

    fn encrypt(&self, name: &str, value: &SecretValue) -> Result<Vec<u8>, VaultError> {
        let failed = |reason: String| VaultError::Encrypt {
            name: name.into(),
            reason,
        };
        // Sized up front so the plaintext is never reallocated (that would
        // leave an unzeroized copy behind).
        let mut plaintext = Zeroizing::new(Vec::with_capacity(
            ENVELOPE.len() + name.len() + 1 + value.len(),
        ));
        plaintext.extend_from_slice(ENVELOPE);
        plaintext.extend_from_slice(name.as_bytes());
        plaintext.push(b'\n');
        plaintext.extend_from_slice(value.expose().as_bytes());
        let recipient = self.key.identity().to_public();
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| failed(e.to_string()))?;
        let mut ciphertext = Vec::with_capacity(plaintext.len() + 256);
        let mut writer = encryptor
            .wrap_output(&mut ciphertext)
            .map_err(|e| failed(e.to_string()))?;
        writer
            .write_all(&plaintext)
            .map_err(|e| failed(e.to_string()))?;
        writer.finish().map_err(|e| failed(e.to_string()))?;
        Ok(ciphertext)
    }

    fn decrypt(&self, name: &str, ciphertext: &[u8]) -> Result<SecretValue, VaultError> {
        let failed = |reason| VaultError::Decrypt {
            name: name.into(),
            key: self.key.source().to_string(),
            reason,
        };
        let damaged = "the stored ciphertext is damaged or is not an age file";
        let decryptor = age::Decryptor::new_buffered(ciphertext).map_err(|_| failed(damaged))?;
        let mut reader = decryptor
            .decrypt(std::iter::once(self.key.identity() as &dyn age::Identity))
            .map_err(|e| {
                failed(match e {
                    age::DecryptError::NoMatchingKeys => {
                        "it was stored under a different master key; use the key it was \
                         stored with, or remove the secret and set it again"
                    }
                    _ => damaged,
                })
            })?;
        // The plaintext is shorter than the ciphertext: this buffer never
        // reallocates.
        let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
        reader
            .read_to_end(&mut plaintext)
            .map_err(|_| failed(damaged))?;
        let value = plaintext
            .strip_prefix(ENVELOPE)
            .and_then(|rest| rest.strip_prefix(name.as_bytes()))
            .and_then(|rest| rest.strip_prefix(b"\n"))
            .ok_or_else(|| {
                failed(
                    "the stored ciphertext belongs to another secret \
                     (the database was changed outside IronClaw)",
                )
            })?;
        let text = std::str::from_utf8(value).map_err(|_| failed(damaged))?;
        let mut owned = String::with_capacity(text.len());
        owned.push_str(text);
        Ok(SecretValue::new(owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["openai_api_key", "a", "GITHUB.token-2", &"x".repeat(64)] {
            assert!(is_secret_name(ok), "{ok}");
        }
        for bad in [
            "",
            &"x".repeat(65),
            "has space",
            "slash/y",
            "new\nline",
            "é",
            "k=v",
        ] {
            assert!(!is_secret_name(bad), "{bad:?}");
        }
        let err = validate_name("sk-live=abc def").unwrap_err().to_string();
        assert!(!err.contains("sk-live"), "{err}");
        assert!(err.contains("openai_api_key"), "{err}");
    }
}
