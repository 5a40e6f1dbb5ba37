//! The master key: one age x25519 identity that every stored secret is
//! encrypted to.
//!
//! Where it comes from, first match wins:
//! 1. `IRONCLAW_MASTER_KEY`: an `AGE-SECRET-KEY-1…` string (or a whole key
//!    file's text), for servers whose disk should not hold the key.
//! 2. `IRONCLAW_HOME/master.key`: an age-keygen style file (`#` comments and
//!    one `AGE-SECRET-KEY-1…` line), created with mode 0600 on first use.
//!    A key file that group or others can access is refused, as ssh does.
//!
//! The key's text is never logged and never quoted in an error: errors say
//! what is wrong and how to fix it, not what the file or variable holds.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::x25519::Identity;
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::config::Home;

pub const MASTER_KEY_ENV: &str = "IRONCLAW_MASTER_KEY";
const KEY_FILE_NAME: &str = "master.key";
/// A key file is about 200 bytes; anything much larger is not one.
const MAX_KEY_FILE: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("{MASTER_KEY_ENV} is set but {reason} (its value is not shown)")]
    BadEnv { reason: &'static str },
    #[error(
        "master key file {path} is accessible by group or others (mode {mode:04o}); \
         refusing to use it: run `chmod 600 {path}`"
    )]
    Permissions { path: String, mode: u32 },
    #[error(
        "master key file {path} is not a usable key: {reason}. Its contents are not shown; \
         restore it from your backup, or set {MASTER_KEY_ENV}"
    )]
    Malformed { path: String, reason: &'static str },
    #[error("cannot read master key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create master key file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Where the key in use came from, for messages (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(PathBuf),
    /// Made in memory by [`MasterKey::generate`] (tests, tools).
    Generated,
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env => write!(f, "the master key in {MASTER_KEY_ENV}"),
            KeySource::File(path) => write!(f, "the master key in {}", path.display()),
            KeySource::Generated => f.write_str("a generated master key"),
        }
    }
}

pub struct MasterKey {
    identity: Identity,
    source: KeySource,
    created: bool,
}

/// Shows where the key came from and its public half only.
impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("recipient", &self.recipient())
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// `IRONCLAW_HOME/master.key`.
pub fn key_file(home: &Home) -> PathBuf {
    home.root().join(KEY_FILE_NAME)
}

impl MasterKey {
    /// A new random key that lives only in memory.
    pub fn generate() -> MasterKey {
        MasterKey {
            identity: Identity::generate(),
            source: KeySource::Generated,
            created: false,
        }
    }

    /// The key from `IRONCLAW_MASTER_KEY`, else from the key file; `None`
    /// when neither exists. Never creates anything.
    pub fn load(home: &Home) -> Result<Option<MasterKey>, MasterKeyError> {
        if let Some(key) = MasterKey::from_env()? {
            return Ok(Some(key));
        }
        let path = key_file(home);
        match MasterKey::read_file(&path) {
            Ok(key) => Ok(Some(key)),
            Err(MasterKeyError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// [`MasterKey::load`], creating the key file when there is no key yet
    /// ([`MasterKey::created`] then says so, so the owner can be told to
    /// back it up).
    pub fn load_or_create(home: &Home) -> Result<MasterKey, MasterKeyError> {
        match MasterKey::load(home)? {
            Some(key) => Ok(key),
            None => MasterKey::create_file(&key_file(home)),
        }
    }

    /// The key in `IRONCLAW_MASTER_KEY`; `None` when it is not set. Set but
    /// empty is an error: a blank variable is a mistake, and falling back to
    /// a key file would quietly split the secrets across two keys.
    pub fn from_env() -> Result<Option<MasterKey>, MasterKeyError> {
        let Some(raw) = std::env::var_os(MASTER_KEY_ENV) else {
            return Ok(None);
        };
        let text = Zeroizing::new(raw.into_string().map_err(|_| MasterKeyError::BadEnv {
            reason: "it is not UTF-8",
        })?);
        let identity = parse_identity(&text).map_err(|reason| MasterKeyError::BadEnv { reason })?;
        Ok(Some(MasterKey {
            identity,
            source: KeySource::Env,
            created: false,
        }))
    }

    /// Reads a key file. The permission check is made on the opened file,
    /// so nothing can change between checking and reading.
    pub fn read_file(path: &Path) -> Result<MasterKey, MasterKeyError> {
        let origin = path.display().to_string();
        let read_err = |source| MasterKeyError::Read {
            path: origin.clone(),
            source,
        };
        let malformed = |reason| MasterKeyError::Malformed {
            path: origin.clone(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let meta = file.metadata().map_err(read_err)?;
        if !meta.is_file() {
            return Err(malformed("not a regular file"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(MasterKeyError::Permissions {
                    path: origin.clone(),
                    mode,
                });
            }
        }
        if meta.len() > MAX_KEY_FILE {
            return Err(malformed("too large to be a key file"));
        }
        // Sized for the whole file plus one byte, so reading never
        // reallocates (a reallocation would leave an unzeroized copy).
        let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
        file.take(MAX_KEY_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(read_err)?;
        if bytes.len() as u64 > MAX_KEY_FILE {
            return Err(malformed("too large to be a key file"));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| malformed("not UTF-8 text"))?;
        let identity = parse_identity(text).map_err(malformed)?;
        Ok(MasterKey {
            identity,
            source: KeySource::File(path.to_path_buf()),
            created: false,
        })
    }

    /// Generates a key and writes it to `path`. The file is written under a
    /// temporary name created with mode 0600 (never readable by others, not
    /// even for a moment) and then hard-linked into place, which fails
    /// rather than replacing a key that appeared meanwhile: when another
    /// process won that race, its key is the one returned.
    pub fn create_file(path: &Path) -> Result<MasterKey, MasterKeyError> {
        let origin = path.display().to_string();
        let write_err = |source| MasterKeyError::Write {
            path: origin.clone(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.exists() {
            create_private_dir_all(&dir).map_err(write_err)?;
        }
        let identity = Identity::generate();
        let text = key_file_text(&identity);
        let temp = dir.join(format!(
            ".{KEY_FILE_NAME}.{}.tmp",
            uuid::Uuid::new_v4().simple()
        ));
        let written = write_new_private(&temp, text.as_bytes());
        let linked = written.and_then(|()| std::fs::hard_link(&temp, path));
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                sync_dir(&dir);
                tracing::info!(path = %path.display(), "created a new master key");
                Ok(MasterKey {
                    identity,
                    source: KeySource::File(path.to_path_buf()),
                    created: true,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => MasterKey::read_file(path),
            Err(e) => Err(write_err(e)),
        }
    }

    /// The public half (`age1…`): safe to show, identifies the key.
    pub fn recipient(&self) -> String {
        self.identity.to_public().to_string()
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// Whether this call made the key file (the owner should back it up).
    pub fn created(&self) -> bool {
        self.created
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.identity
    }
}

/// One `AGE-SECRET-KEY-1…` line among optional blank and `#` lines. The
/// reasons are fixed strings: nothing of the input is ever quoted.
fn parse_identity(text: &str) -> Result<Identity, &'static str> {
    let mut keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let Some(line) = keys.next() else {
        return Err("it holds no AGE-SECRET-KEY-1… key");
    };
    if keys.next().is_some() {
        return Err("it holds more than one AGE-SECRET-KEY-1… line");
    }
    Identity::from_str(line).map_err(|_| "it is not an age X25519 secret key (AGE-SECRET-KEY-1…)")
}

/// The file as age-keygen writes it, so the owner's age tools read it too.
fn key_file_text(identity: &Identity) -> Zeroizing<String> {
    let secret = identity.to_string();
    // Sized up front so the text is never reallocated.
    let mut text = Zeroizing::new(String::with_capacity(1024));
    text.push_str(
        "# IronClaw master key (age X25519). Every stored secret is encrypted to it:\n\
         # losing this file loses them, and anyone who reads it can read them.\n\
         # Back it up somewhere safe and private; keep it mode 0600.\n",
    );
    text.push_str("# created: ");
    text.push_str(&crate::memory::identity::today_utc());
    text.push_str("\n# public key: ");
    text.push_str(&identity.to_public().to_string());
    text.push('\n');
    text.push_str(secret.expose_secret());
    text.push('\n');
    text
}

fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Directories made for the key are owner-only from the start.
fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes the new name durable; best effort (not every platform allows
/// opening a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_created_key_file_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("home").join("master.key");
        let key = MasterKey::create_file(&path).unwrap();
        assert!(key.created());
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let again = MasterKey::read_file(&path).unwrap();
        assert_eq!(again.recipient(), key.recipient());
        assert!(!again.created());
        // A second create keeps the first key rather than replacing it.
        let raced = MasterKey::create_file(&path).unwrap();
        assert_eq!(raced.recipient(), key.recipient());
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("master.key")]);
    }

    #[test]
    fn loose_or_broken_key_files_are_refused_without_quoting_them() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let key = MasterKey::create_file(&path).unwrap();
        let secret_line = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_string();
        for loose in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
            let err = MasterKey::read_file(&path).unwrap_err().to_string();
            assert!(
                err.contains(&format!("chmod 600 {}", path.display())),
                "{err}"
            );
            assert!(!err.contains(&secret_line), "{err}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(
            MasterKey::read_file(&path).unwrap().recipient(),
            key.recipient()
        );

        let broken = dir.path().join("broken.key");
        write_new_private(&broken, b"# comment\nAGE-SECRET-KEY-1NOTAKEY\n").unwrap();
        let err = MasterKey::read_file(&broken).unwrap_err().to_string();
        assert!(err.contains("not a usable key"), "{err}");
        assert!(!err.contains("NOTAKEY"), "{err}");
        let two = dir.path().join("two.key");
        let text = format!("{secret_line}\n{secret_line}\n");
        write_new_private(&two, text.as_bytes()).unwrap();
        let err = MasterKey::read_file(&two).unwrap_err().to_string();
        assert!(err.contains("more than one"), "{err}");
        assert!(!err.contains(&secret_line), "{err}");
    }

    #[test]
    fn debug_shows_only_the_public_half() {
        let key = MasterKey::generate();
        let secret = key.identity().to_string();
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.recipient()), "{shown}");
        assert!(!shown.contains(secret.expose_secret()), "{shown}");
        assert!(!shown.to_lowercase().contains("age-secret-key"), "{shown}");
    }

    #[test]
    fn the_key_text_parses_with_comments_and_whitespace() {
        let key = MasterKey::generate();
        let secret = key.identity().to_string();
        let text = format!("# created\n\n  {}  \n", secret.expose_secret());
        let parsed = parse_identity(&text).unwrap();
        assert_eq!(parsed.to_public().to_string(), key.recipient());
        assert_eq!(
            parse_identity("# only a comment\n").err(),
            Some("it holds no AGE-SECRET-KEY-1… key")
        );
    }
}
