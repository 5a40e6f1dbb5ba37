//! The secrets vault (DESIGN §5): values the owner stores for components'
//! outbound requests, age-encrypted at rest under one master key and
//! wrapped in [`SecretValue`] so that they never print.
//!
//! - [`MasterKey`]: the age x25519 identity, from `IRONCLAW_MASTER_KEY` or
//!   `IRONCLAW_HOME/master.key` (created 0600 on first use; a key file that
//!   group or others can read is refused).
//! - [`Vault`]: set / get / remove / list over the [`SecretStore`]; the store
//!   only ever sees ciphertext.
//! - [`usage`]: which components ask for which secrets (for the owner).
//!
//! [`SecretStore`]: crate::store::domains::SecretStore

pub mod master;
pub mod usage;
mod value;
mod vault;

pub use crate::store::domains::SecretRecord;
pub use master::{KeySource, MASTER_KEY_ENV, MasterKey, MasterKeyError, key_file};
pub use value::SecretValue;
pub use vault::{
    MAX_NAME_CHARS, MAX_VALUE_BYTES, Vault, VaultError, is_secret_name, validate_name,
};
