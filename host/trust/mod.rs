//! Publisher keys, component signatures and the owner's trust store
//! (DESIGN §3).
//!
//! # What a signature covers
//!
//! An ed25519 signature over [`canonical::signed_message`]: a domain prefix
//! (`ironclaw-component-signature-v1\n`) followed by a canonical JSON form of
//! the *parsed* manifest and the blake3 digest of the `.wasm` bytes. The
//! manifest is signed semantically, not as raw TOML: comments, whitespace,
//! key order and spelled-out defaults do not matter, while any change to what
//! the component is or asks for (name, version, kind, world version,
//! description, every capability, every limit) does. [`canonical`]
//! destructures every manifest struct exhaustively, so a field added to the
//! manifest later fails to compile there until it is covered.
//!
//! # Why sidecar signatures
//!
//! A component is three files side by side: `<name>.wasm`, `<name>.toml` (or
//! `component.toml`) and `<name>.sig`. We chose a sidecar over a custom
//! section embedded in the `.wasm` because:
//!
//! - the digest is over the exact bytes that run: nothing rewrites the
//!   `.wasm` after the build, so there is no "digest of the module minus its
//!   signature section" to define, and the digest the signature names is the
//!   one the runtime keys its compile cache and grants by;
//! - the manifest is already a sidecar, and it is half of what is signed;
//! - a registry (a directory or an HTTP server) serves the same three files
//!   with no wasm tooling, and re-signing (key rotation, a second publisher)
//!   never touches the artifact.
//!
//! # Trust
//!
//! A signature says *who* signed; the trust store says whether the owner
//! runs what that key signs. Trust is always compared on the full public key,
//! never on the short key id (an id is for people). Key names come from the
//! owner's own key files, never from a signature file: a signature cannot
//! claim to be "Official". Generating a key does not trust it (unless asked
//! with `--trust`): a key made for a release pipeline or a test must not
//! silently widen what this host runs.
//!
//! Everything fails closed: an unreadable, malformed or loosely-permissioned
//! file is an error or an untrusted key, never a pass.
//!
//! Callers that load code must verify the same bytes they compile
//! ([`verify`] takes bytes), not a path they read again later.

pub mod canonical;
mod canonical_channel;
pub mod describe;
pub mod keys;
pub mod signature;
pub mod store;
pub mod verify;

use std::path::PathBuf;

use crate::config::Home;

pub use describe::{describe_requests, printable};
pub use keys::{KeyError, KeyId, PublicKey, SecretKey};
pub use signature::{SignError, SignatureFile, Signed, sign, sign_file};
pub use store::{
    Generated, KeyListing, StoredKey, TrustStore, find_secret, generate_key, trust_key, untrust_key,
};
pub use verify::{Verified, VerifyError, verify, verify_digest, verify_file};

/// The owner's own key pairs: `<id>.pub` and `<id>.key` (0600).
pub fn keys_dir(home: &Home) -> PathBuf {
    home.root().join("keys")
}

/// Public keys the owner trusts: `<id>.pub`.
pub fn trust_dir(home: &Home) -> PathBuf {
    home.root().join("trust")
}

/// Writes `bytes` to a temporary file beside `path` and renames it into
/// place, so a reader (a verifying host, a hot-reload watcher) never sees
/// half a file.
pub(crate) fn write_file_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| std::io::Error::other("not a file path"))?;
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
