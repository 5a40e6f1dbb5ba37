//! ed25519 publisher keys and their files.
//!
//! Public key (`<id>.pub`, shareable), TOML:
//!
//! ```toml
//! format = "ironclaw-public-key-v1"
//! name = "alice"
//! algorithm = "ed25519"
//! key-id = "3fa9c2d1e0b4a7f6"        # optional; checked when present
//! public-key = "<64 hex>"
//! ```
//!
//! Secret key (`<id>.key`, mode 0600): the same shape with `secret-key` (the
//! 32-byte ed25519 seed in hex) instead of `public-key`. It is valid TOML, but
//! it is read by a small line parser instead of the toml crate so that the
//! secret is decoded straight out of a zeroized buffer, without the copies a
//! general parser makes. A secret key file that group or others can access
//! is refused, as ssh does. Error messages never quote a secret file's lines.

use std::io::{Read, Write};
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::Deserialize;
use zeroize::Zeroizing;

pub const PUBLIC_FORMAT: &str = "ironclaw-public-key-v1";
pub const SECRET_FORMAT: &str = "ironclaw-secret-key-v1";
pub const ALGORITHM: &str = "ed25519";

/// Key files are a few hundred bytes; anything much larger is not one.
const MAX_KEY_FILE: u64 = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
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
    #[error("malformed key file {path}: {reason}")]
    Malformed { path: String, reason: String },
    #[error(
        "secret key file {path} is accessible by group or others (mode {mode:04o}); \
         refusing to use it: run `chmod 600 {path}`"
    )]
    Permissions { path: String, mode: u32 },
    #[error("no key `{0}`: give a key id or name from `ironclaw keys list`, or a key file")]
    NotFound(String),
    #[error("key name `{0}` matches several keys: use the key id")]
    Ambiguous(String),
    #[error(
        "key name `{0}` must be 1-64 characters of letters, digits, space, '.', '_', '@' and '-'"
    )]
    BadName(String),
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
}

fn malformed(path: &str, reason: impl Into<String>) -> KeyError {
    KeyError::Malformed {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// A short name for a public key: the first 8 bytes of blake3(public key) in
/// hex. For people and file names only; trust compares the whole key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    pub fn of(key: &VerifyingKey) -> KeyId {
        KeyId(hex::encode(&blake3::hash(key.as_bytes()).as_bytes()[..8]))
    }

    /// 16 lowercase hex characters, or `None`.
    pub fn parse(text: &str) -> Option<KeyId> {
        (text.len() == 16 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| KeyId(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Key names are printed to terminals and written into TOML files: a narrow
/// alphabet keeps escape sequences and quoting problems out of both.
pub fn is_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.trim() == name
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | '@' | '-'))
}

/// Decodes exactly 32 bytes of hex.
fn hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// A publisher's public key with the name its file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub id: KeyId,
    pub name: String,
    pub key: VerifyingKey,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PublicKeyToml {
    format: String,
    name: String,
    algorithm: String,
    key_id: Option<String>,
    public_key: String,
}

impl PublicKey {
    pub fn new(name: String, key: VerifyingKey) -> PublicKey {
        PublicKey {
            id: KeyId::of(&key),
            name,
            key,
        }
    }

    pub fn load(path: &Path) -> Result<PublicKey, KeyError> {
        let origin = path.display().to_string();
        let bytes = read_limited(path, &origin)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| malformed(&origin, "not UTF-8"))?;
        PublicKey::parse(text, &origin)
    }

    /// Parses a public key file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<PublicKey, KeyError> {
        // A secret key file handed over by mistake must not reach the TOML
        // parser, whose errors quote the offending line.
        if text.contains(SECRET_FORMAT) || text.contains("secret-key") {
            return Err(malformed(
                origin,
                "this is a SECRET key file: give the public key (.pub) file, and never share this one",
            ));
        }
        let file: PublicKeyToml = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .and_then(|s| text.get(..s.start))
                .map(|before| before.matches('\n').count() + 1);
            let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            malformed(origin, format!("{at}{}", e.message().trim_end()))
        })?;
        if file.format != PUBLIC_FORMAT {
            return Err(malformed(
                origin,
                format!(
                    "unsupported format `{}` (expected {PUBLIC_FORMAT})",
                    file.format
                ),
            ));
        }
        check_algorithm(&file.algorithm, origin)?;
        if !is_key_name(&file.name) {
            return Err(malformed(origin, KeyError::BadName(file.name).to_string()));
        }
        let bytes = hex32(&file.public_key)
            .ok_or_else(|| malformed(origin, "public-key must be 64 hex characters"))?;
        let key = verifying_key(&bytes, origin)?;
        let public = PublicKey::new(file.name, key);
        check_id(file.key_id.as_deref(), &public.id, origin)?;
        Ok(public)
    }

    /// The file text (`<id>.pub`).
    pub fn to_file_text(&self) -> String {
        format!(
            "# IronClaw publisher public key. Share it: hosts that run\n\
             # `ironclaw keys trust <this file>` run components signed by this key.\n\
             format = \"{PUBLIC_FORMAT}\"\n\
             name = \"{}\"\n\
             algorithm = \"{ALGORITHM}\"\n\
             key-id = \"{}\"\n\
             public-key = \"{}\"\n",
            self.name,
            self.id,
            hex::encode(self.key.as_bytes())
        )
    }
}

fn check_algorithm(algorithm: &str, origin: &str) -> Result<(), KeyError> {
    if algorithm == ALGORITHM {
        Ok(())
    } else {
        Err(malformed(
            origin,
            format!("unsupported algorithm `{algorithm}` (expected {ALGORITHM})"),
        ))
    }
}

fn check_id(claimed: Option<&str>, actual: &KeyId, origin: &str) -> Result<(), KeyError> {
    match claimed {
        Some(claimed) if claimed != actual.as_str() => Err(malformed(
            origin,
            format!("key-id `{claimed}` does not match the key (its id is {actual})"),
        )),
        _ => Ok(()),
    }
}

/// A valid, non-weak ed25519 point. Weak (small-order) keys would let one
/// signature verify for many messages.
pub(crate) fn verifying_key(bytes: &[u8; 32], origin: &str) -> Result<VerifyingKey, KeyError> {
    let key = VerifyingKey::from_bytes(bytes)
        .map_err(|_| malformed(origin, "public-key is not a valid ed25519 key"))?;
    if key.is_weak() {
        return Err(malformed(origin, "public-key is a weak ed25519 key"));
    }
    Ok(key)
}

/// A key pair the owner can sign with. The signing key is zeroized on drop
/// (ed25519-dalek's `zeroize` feature); it never prints.
pub struct SecretKey {
    pub public: PublicKey,
    signing: SigningKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// A fresh key pair from the operating system's random source.
    pub fn generate(name: &str) -> Result<SecretKey, KeyError> {
        if !is_key_name(name) {
            return Err(KeyError::BadName(name.to_string()));
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut *seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(SecretKey::from_seed(name.to_string(), &seed))
    }

    fn from_seed(name: String, seed: &[u8; 32]) -> SecretKey {
        let signing = SigningKey::from_bytes(seed);
        SecretKey {
            public: PublicKey::new(name, signing.verifying_key()),
            signing,
        }
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }

    /// Reads a secret key file, refusing one that group or others can access.
    pub fn load(path: &Path) -> Result<SecretKey, KeyError> {
        let origin = path.display().to_string();
        let bytes = read_limited_private(path, &origin)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| malformed(&origin, "not UTF-8"))?;
        SecretKey::parse(text, &origin)
    }

    fn parse(text: &str, origin: &str) -> Result<SecretKey, KeyError> {
        let mut fields: [(&str, Option<&str>); 5] = [
            ("format", None),
            ("name", None),
            ("algorithm", None),
            ("key-id", None),
            ("secret-key", None),
        ];
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // Never echo the line: it may be the secret.
            let bad = |what: &str| malformed(origin, format!("line {}: {what}", n + 1));
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| bad("expected `key = \"value\"`"))?;
            let (key, value) = (key.trim(), value.trim());
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .filter(|v| !v.contains(['"', '\\']))
                .ok_or_else(|| bad("the value must be a plain \"quoted\" string"))?;
            let slot = fields
                .iter_mut()
                .find(|(name, _)| *name == key)
                .ok_or_else(|| bad("unknown key"))?;
            if slot.1.replace(value).is_some() {
                return Err(bad("duplicate key"));
            }
        }
        let [format, name, algorithm, key_id, secret] = fields.map(|(_, v)| v);
        let missing = |key: &str| malformed(origin, format!("missing `{key}`"));
        let format = format.ok_or_else(|| missing("format"))?;
        if format != SECRET_FORMAT {
            return Err(malformed(
                origin,
                format!("unsupported format `{format}` (expected {SECRET_FORMAT})"),
            ));
        }
        check_algorithm(algorithm.ok_or_else(|| missing("algorithm"))?, origin)?;
        let name = name.ok_or_else(|| missing("name"))?;
        if !is_key_name(name) {
            return Err(malformed(
                origin,
                KeyError::BadName(name.to_string()).to_string(),
            ));
        }
        let secret = secret.ok_or_else(|| missing("secret-key"))?;
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(secret, &mut *seed)
            .map_err(|_| malformed(origin, "secret-key must be 64 hex characters"))?;
        let key = SecretKey::from_seed(name.to_string(), &seed);
        check_id(key_id, &key.public.id, origin)?;
        Ok(key)
    }

    /// Writes the secret key file: created new (never over an existing
    /// file) with mode 0600 from the start, so it is never readable by others.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let origin = path.display().to_string();
        let write_err = |source| KeyError::Write {
            path: origin.clone(),
            source,
        };
        // Sized up front so the text is never reallocated (a reallocation
        // would leave an unzeroized copy of the secret behind).
        let mut text = Zeroizing::new(String::with_capacity(1024));
        let seed_hex = Zeroizing::new(hex::encode(self.signing.as_bytes()));
        text.push_str(
            "# IronClaw publisher SECRET key. Anyone holding it can sign components that\n\
             # hosts trusting this key will run: never share or commit it. Mode 0600.\n",
        );
        for (key, value) in [
            ("format", SECRET_FORMAT),
            ("name", self.public.name.as_str()),
            ("algorithm", ALGORITHM),
            ("key-id", self.public.id.as_str()),
            ("secret-key", seed_hex.as_str()),
        ] {
            text.push_str(key);
            text.push_str(" = \"");
            text.push_str(value);
            text.push_str("\"\n");
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(write_err)?;
        file.write_all(text.as_bytes()).map_err(write_err)?;
        file.sync_all().map_err(write_err)
    }
}

fn read_err(origin: &str) -> impl Fn(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Read {
        path: origin.to_string(),
        source,
    }
}

/// Reads at most [`MAX_KEY_FILE`] bytes of a regular file.
fn read_limited(path: &Path, origin: &str) -> Result<Vec<u8>, KeyError> {
    let file = std::fs::File::open(path).map_err(read_err(origin))?;
    read_open(file, origin, None).map(|bytes| bytes.to_vec())
}

/// Like [`read_limited`], for a secret: the permission check is made on the
/// opened file (no window between checking and reading), and the bytes are
/// zeroized when dropped.
fn read_limited_private(path: &Path, origin: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let file = std::fs::File::open(path).map_err(read_err(origin))?;
    read_open(file, origin, Some(0o077))
}

fn read_open(
    file: std::fs::File,
    origin: &str,
    forbidden_mode: Option<u32>,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let meta = file.metadata().map_err(read_err(origin))?;
    if !meta.is_file() {
        return Err(malformed(origin, "not a regular file"));
    }
    #[cfg(unix)]
    if let Some(forbidden) = forbidden_mode {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & forbidden != 0 {
            return Err(KeyError::Permissions {
                path: origin.to_string(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = forbidden_mode;
    if meta.len() > MAX_KEY_FILE {
        return Err(malformed(origin, "too large to be a key file"));
    }
    // Capacity for the whole file plus one byte, so reading never reallocates.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err(origin))?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(malformed(origin, "too large to be a key file"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_seed("test".into(), &[7u8; 32])
    }

    #[test]
    fn key_ids_are_short_hex_of_the_public_key() {
        let k = key();
        assert_eq!(k.public.id.as_str().len(), 16);
        assert_eq!(
            KeyId::parse(k.public.id.as_str()),
            Some(k.public.id.clone())
        );
        assert_eq!(KeyId::parse("ABCDEF0123456789"), None);
        assert_eq!(KeyId::parse("abc"), None);
    }

    #[test]
    fn public_key_files_round_trip_and_malformed_ones_say_why() {
        let k = key();
        let text = k.public.to_file_text();
        assert_eq!(PublicKey::parse(&text, "k.pub").unwrap(), k.public);
        let hexkey = hex::encode(k.public.key.as_bytes());
        for (edit, says) in [
            (
                text.replace("ed25519", "rsa"),
                "unsupported algorithm `rsa`",
            ),
            (text.replace("-v1", "-v9"), "unsupported format"),
            (text.replace(&hexkey, &hexkey[..60]), "64 hex characters"),
            (text.replace(&hexkey, &"0".repeat(64)), "weak"),
            (
                text.replace(k.public.id.as_str(), "0000000000000000"),
                "does not match the key",
            ),
            (
                text.replace("name = \"test\"", "name = \"bad\\u001b\""),
                "key name",
            ),
            (text.replace("public-key", "secret-key"), "SECRET key file"),
            (format!("{text}extra = 1\n"), "unknown field `extra`"),
            ("not toml".to_string(), "malformed key file"),
        ] {
            let err = PublicKey::parse(&edit, "k.pub").unwrap_err().to_string();
            assert!(err.contains(says), "{says}: {err}");
        }
    }

    #[test]
    fn secret_key_files_parse_without_echoing_the_secret() {
        let k = key();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        k.write_new(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let back = SecretKey::parse(&text, "k.key").unwrap();
        assert_eq!(back.public, k.public);
        assert!(k.write_new(&path).is_err(), "never overwrites a key");

        let secret_hex = hex::encode([7u8; 32]);
        for (edit, says) in [
            (text.replace(&secret_hex, &secret_hex[..10]), "64 hex"),
            (text.replace("secret-key", "secret"), "unknown key"),
            (format!("{text}name = \"x\"\n"), "duplicate key"),
            (text.replace("secret-key = \"", "secret-key = '"), "line 7"),
            (text.replace("key-v1", "key-v2"), "unsupported format"),
        ] {
            let err = SecretKey::parse(&edit, "k.key").unwrap_err().to_string();
            assert!(err.contains(says), "{says}: {err}");
            assert!(!err.contains(&secret_hex[..10]), "leaks the secret: {err}");
        }
        assert!(
            !format!("{k:?}").contains(&secret_hex[..10]),
            "Debug leaks the secret"
        );
    }

    #[cfg(unix)]
    #[test]
    fn secret_key_files_others_can_read_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        key().write_new(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        SecretKey::load(&path).unwrap();
        for loose in [0o644, 0o640, 0o604, 0o610] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
            let err = SecretKey::load(&path).unwrap_err();
            assert!(
                matches!(err, KeyError::Permissions { .. }),
                "{loose:o}: {err}"
            );
        }
    }

    #[test]
    fn signatures_verify_with_the_public_key() {
        let k = key();
        let sig = k.sign(b"message");
        assert!(k.public.key.verify_strict(b"message", &sig).is_ok());
        assert!(k.public.key.verify_strict(b"massage", &sig).is_err());
    }
}
