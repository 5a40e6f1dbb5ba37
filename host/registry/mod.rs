//! Component manifests and discovery (and, in later work, signing, install
//! and the trust store).

pub mod admission;
pub mod channel_manifest;
pub mod discovery;
pub mod index;
pub mod install;
pub mod manifest;
pub mod reload;

pub use discovery::Bundle;
pub use manifest::{ComponentKind, Manifest, ManifestError};
