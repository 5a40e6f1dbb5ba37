//! What this host knows about keys: the owner's own key pairs
//! (`IRONCLAW_HOME/keys/<id>.pub` + `<id>.key`) and the public keys it trusts
//! (`IRONCLAW_HOME/trust/<id>.pub`).
//!
//! Loading fails closed: an entry that is malformed, misnamed, or writable by
//! group or others is not trusted, and is reported in [`TrustStore::problems`]
//! so the owner sees why.

use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use super::keys::{KeyError, KeyId, PublicKey, SecretKey};
use super::{keys_dir, trust_dir, write_file_atomic};
use crate::config::{Home, create_private_dir};

/// A public key file found in the home.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub key: PublicKey,
    pub path: PathBuf,
    /// The matching `<id>.key` exists beside it (own keys only).
    pub has_secret: bool,
}

#[derive(Debug, Default)]
pub struct TrustStore {
    trusted: Vec<StoredKey>,
    own: Vec<StoredKey>,
    problems: Vec<String>,
}

/// One row of `ironclaw keys list`.
#[derive(Debug, Clone, Serialize)]
pub struct KeyListing {
    pub id: String,
    pub name: String,
    pub trusted: bool,
    pub has_secret: bool,
    pub public_key_file: String,
}

impl TrustStore {
    /// Trusts nothing.
    pub fn empty() -> TrustStore {
        TrustStore::default()
    }

    /// Reads `keys/` and `trust/` under `home`; missing directories are empty.
    pub fn load(home: &Home) -> Result<TrustStore, KeyError> {
        let mut problems = Vec::new();
        let trusted = read_keys(&trust_dir(home), true, &mut problems)?;
        let own = read_keys(&keys_dir(home), false, &mut problems)?;
        Ok(TrustStore {
            trusted,
            own,
            problems,
        })
    }

    /// Whether the owner trusts this exact public key (never decided by id).
    pub fn is_trusted(&self, key: &VerifyingKey) -> bool {
        self.trusted.iter().any(|k| k.key.key == *key)
    }

    /// The name the owner's files give this key: the trusted entry's first,
    /// else the owner's own key's.
    pub fn name_of(&self, key: &VerifyingKey) -> Option<&str> {
        self.trusted
            .iter()
            .chain(&self.own)
            .find(|k| k.key.key == *key)
            .map(|k| k.key.name.as_str())
    }

    pub fn trusted(&self) -> &[StoredKey] {
        &self.trusted
    }

    pub fn own(&self) -> &[StoredKey] {
        &self.own
    }

    /// Entries that were ignored, and why.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Own and trusted keys, one row per public key, sorted by name then id.
    pub fn list(&self) -> Vec<KeyListing> {
        let mut rows: Vec<KeyListing> = Vec::new();
        for k in self.own.iter().chain(&self.trusted) {
            if rows.iter().any(|r| r.id == k.key.id.as_str()) {
                continue;
            }
            let own = self.own.iter().find(|o| o.key.key == k.key.key);
            rows.push(KeyListing {
                id: k.key.id.to_string(),
                name: k.key.name.clone(),
                trusted: self.is_trusted(&k.key.key),
                has_secret: own.is_some_and(|o| o.has_secret),
                public_key_file: k.path.display().to_string(),
            });
        }
        rows.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        rows
    }
}

/// The `*.pub` entries of `dir`. Trust entries must not be writable by
/// group or others: whoever can write there decides what this host runs.
fn read_keys(
    dir: &Path,
    trust: bool,
    problems: &mut Vec<String>,
) -> Result<Vec<StoredKey>, KeyError> {
    let read_err = |source| KeyError::Read {
        path: dir.display().to_string(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(read_err(e)),
    };
    if trust && let Some(mode) = writable_by_others(dir) {
        problems.push(format!(
            "{} is writable by group or others (mode {mode:04o}): trusting none of its keys",
            dir.display()
        ));
        return Ok(Vec::new());
    }
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(read_err)?.path();
        if path.extension().is_some_and(|x| x == "pub") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut keys = Vec::new();
    for path in paths {
        let key = match PublicKey::load(&path) {
            Ok(key) => key,
            Err(e) => {
                problems.push(format!("{e}: ignored"));
                continue;
            }
        };
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem != key.id.as_str() {
            problems.push(format!(
                "{} holds key {} but is not named {}.pub: ignored",
                path.display(),
                key.id,
                key.id
            ));
            continue;
        }
        if trust && let Some(mode) = writable_by_others(&path) {
            problems.push(format!(
                "{} is writable by group or others (mode {mode:04o}): ignored",
                path.display()
            ));
            continue;
        }
        let has_secret = !trust && dir.join(format!("{}.key", key.id)).is_file();
        keys.push(StoredKey {
            key,
            path,
            has_secret,
        });
    }
    Ok(keys)
}

/// The mode of `path` when group or others may write it.
fn writable_by_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
        (mode & 0o022 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// What `ironclaw keys generate` made.
#[derive(Debug)]
pub struct Generated {
    pub key: PublicKey,
    pub public_path: PathBuf,
    pub secret_path: PathBuf,
    pub trusted: bool,
}

fn mkdir(dir: &Path) -> Result<(), KeyError> {
    create_private_dir(dir).map_err(|source| KeyError::Write {
        path: dir.display().to_string(),
        source,
    })
}

/// Generates a key pair under `keys/`; trusts it only when asked.
pub fn generate_key(home: &Home, name: &str, trust_it: bool) -> Result<Generated, KeyError> {
    let secret = SecretKey::generate(name)?;
    mkdir(home.root())?;
    let dir = keys_dir(home);
    mkdir(&dir)?;
    let id = &secret.public.id;
    let secret_path = dir.join(format!("{id}.key"));
    let public_path = dir.join(format!("{id}.pub"));
    secret.write_new(&secret_path)?;
    write_file_atomic(&public_path, secret.public.to_file_text().as_bytes()).map_err(|source| {
        KeyError::Write {
            path: public_path.display().to_string(),
            source,
        }
    })?;
    if trust_it {
        trust_key(home, &secret.public)?;
    }
    Ok(Generated {
        key: secret.public.clone(),
        public_path,
        secret_path,
        trusted: trust_it,
    })
}

/// Adds `key` to the trust store; `Ok(false)` when it was already trusted.
pub fn trust_key(home: &Home, key: &PublicKey) -> Result<bool, KeyError> {
    mkdir(home.root())?;
    let dir = trust_dir(home);
    mkdir(&dir)?;
    let path = dir.join(format!("{}.pub", key.id));
    if PublicKey::load(&path).is_ok_and(|existing| existing.key == key.key) {
        return Ok(false);
    }
    write_file_atomic(&path, key.to_file_text().as_bytes()).map_err(|source| KeyError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(true)
}

/// Removes key `id` from the trust store; `Ok(false)` when it was not there.
pub fn untrust_key(home: &Home, id: &KeyId) -> Result<bool, KeyError> {
    let path = trust_dir(home).join(format!("{id}.pub"));
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(KeyError::Write {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// The secret key `spec` names: a path to a secret key file, else a key id
/// or a unique key name among the owner's own keys.
pub fn find_secret(home: &Home, spec: &str) -> Result<SecretKey, KeyError> {
    let as_path = Path::new(spec);
    if as_path.is_file() {
        // A public key file would otherwise be refused for its (normal)
        // 0644 mode, which points the owner the wrong way.
        if as_path.extension().is_some_and(|x| x == "pub") {
            return Err(KeyError::Malformed {
                path: spec.to_string(),
                reason: "this is a public key file: signing needs the secret key (<id>.key) or the key id".into(),
            });
        }
        return SecretKey::load(as_path);
    }
    let dir = keys_dir(home);
    if let Some(id) = KeyId::parse(spec) {
        let path = dir.join(format!("{id}.key"));
        if path.is_file() {
            return SecretKey::load(&path);
        }
        return Err(KeyError::NotFound(spec.to_string()));
    }
    let store = TrustStore::load(home)?;
    let mut named = store
        .own()
        .iter()
        .filter(|k| k.has_secret && k.key.name == spec);
    match (named.next(), named.next()) {
        (Some(k), None) => SecretKey::load(&dir.join(format!("{}.key", k.key.id))),
        (Some(_), Some(_)) => Err(KeyError::Ambiguous(spec.to_string())),
        (None, _) => Err(KeyError::NotFound(spec.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().join("home"));
        (dir, home)
    }

    #[test]
    fn generated_keys_are_listed_and_trusted_only_when_asked() {
        let (_d, home) = home();
        let a = generate_key(&home, "alice", false).unwrap();
        let b = generate_key(&home, "bob", true).unwrap();
        let store = TrustStore::load(&home).unwrap();
        assert!(!store.is_trusted(&a.key.key));
        assert!(store.is_trusted(&b.key.key));
        assert_eq!(store.name_of(&a.key.key), Some("alice"));
        let list = store.list();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].name.as_str(), list[0].trusted), ("alice", false));
        assert_eq!((list[1].name.as_str(), list[1].trusted), ("bob", true));
        assert!(list.iter().all(|r| r.has_secret));
        assert!(store.problems().is_empty(), "{:?}", store.problems());

        assert!(trust_key(&home, &a.key).unwrap());
        assert!(
            !trust_key(&home, &a.key).unwrap(),
            "trusting twice is a no-op"
        );
        assert!(untrust_key(&home, &b.key.id).unwrap());
        assert!(!untrust_key(&home, &b.key.id).unwrap());
        let store = TrustStore::load(&home).unwrap();
        assert!(store.is_trusted(&a.key.key));
        assert!(!store.is_trusted(&b.key.key));
    }

    #[test]
    fn secrets_are_found_by_id_name_or_path() {
        let (_d, home) = home();
        let a = generate_key(&home, "alice", false).unwrap();
        let by_id = find_secret(&home, a.key.id.as_str()).unwrap();
        let by_name = find_secret(&home, "alice").unwrap();
        let by_path = find_secret(&home, &a.secret_path.display().to_string()).unwrap();
        let err = find_secret(&home, &a.public_path.display().to_string()).unwrap_err();
        assert!(
            err.to_string().contains("this is a public key file"),
            "{err}"
        );
        for k in [by_id, by_name, by_path] {
            assert_eq!(k.public, a.key);
        }
        assert!(matches!(
            find_secret(&home, "nobody"),
            Err(KeyError::NotFound(_))
        ));
        generate_key(&home, "alice", false).unwrap();
        assert!(matches!(
            find_secret(&home, "alice"),
            Err(KeyError::Ambiguous(_))
        ));
    }

    #[test]
    fn bad_trust_entries_are_ignored_and_reported() {
        let (_d, home) = home();
        let a = generate_key(&home, "alice", true).unwrap();
        let dir = trust_dir(&home);
        // Misnamed: a valid key under someone else's id.
        std::fs::copy(
            dir.join(format!("{}.pub", a.key.id)),
            dir.join("0000000000000000.pub"),
        )
        .unwrap();
        std::fs::write(dir.join("junk.pub"), "garbage").unwrap();
        let store = TrustStore::load(&home).unwrap();
        assert_eq!(store.trusted().len(), 1);
        assert_eq!(store.problems().len(), 2, "{:?}", store.problems());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let entry = dir.join(format!("{}.pub", a.key.id));
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
            let store = TrustStore::load(&home).unwrap();
            assert!(!store.is_trusted(&a.key.key));
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o644)).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
            let store = TrustStore::load(&home).unwrap();
            assert!(!store.is_trusted(&a.key.key));
            assert!(store.problems()[0].contains("trusting none"));
        }
    }
}
