//! The secrets a running host can inject, decrypted once and held in memory
//! (never in a guest), with the leak scanner built from exactly those
//! values and the host's canary. Replaced as a whole when the vault changes,
//! so a request sees one consistent set.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::leak::{Canary, LeakScanner};
use crate::secrets::{SecretValue, Vault, VaultError};

/// One consistent set: values by name and the scanner over them.
pub struct SecretSet {
    values: BTreeMap<String, SecretValue>,
    /// `None` only if the scanner could not be built: every use site then
    /// refuses (fails closed) instead of sending unscanned bytes.
    scanner: Option<LeakScanner>,
    /// What the vault looked like when this set was built (names and
    /// update times), to notice changes made by another process.
    pub(crate) fingerprint: Vec<(String, i64)>,
    canary_len: usize,
}

impl SecretSet {
    /// A set of `values` plus the canary; the scanner covers both.
    pub fn new(
        values: BTreeMap<String, SecretValue>,
        canary: Option<Canary>,
        fingerprint: Vec<(String, i64)>,
    ) -> SecretSet {
        let canary_len = canary.as_ref().map_or(0, |c| c.value().len());
        let scanner = LeakScanner::new(
            values
                .iter()
                .map(|(n, v)| (n.as_str(), v.expose().as_bytes().to_vec())),
            canary,
        );
        let scanner = match scanner {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "the leak scanner could not be built; outbound traffic is refused");
                None
            }
        };
        SecretSet {
            values,
            scanner,
            fingerprint,
            canary_len,
        }
    }

    pub fn get(&self, name: &str) -> Option<&SecretValue> {
        self.values.get(name)
    }

    pub fn scanner(&self) -> Option<&LeakScanner> {
        self.scanner.as_ref()
    }

    /// The longest stored value (or the canary), in bytes: how much of a
    /// stream may still belong to a secret that has not fully arrived.
    pub fn longest_value_bytes(&self) -> usize {
        let values = self.values.values().map(|v| v.expose().len()).max();
        let canary = self.canary_len;
        values.unwrap_or(0).max(canary)
    }
}

/// The current [`SecretSet`], swapped atomically on refresh.
#[derive(Clone)]
pub struct LiveSecrets {
    current: Arc<ArcSwap<SecretSet>>,
    canary: Option<Arc<Canary>>,
}

impl Default for LiveSecrets {
    /// No secrets; the scanner still knows every credential pattern, and a
    /// fresh canary (unless the system has no randomness to make one).
    fn default() -> LiveSecrets {
        let canary = match Canary::generate() {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "no canary planted");
                None
            }
        };
        let set = SecretSet::new(BTreeMap::new(), canary.clone(), Vec::new());
        LiveSecrets {
            current: Arc::new(ArcSwap::from_pointee(set)),
            canary: canary.map(Arc::new),
        }
    }
}

impl LiveSecrets {
    pub fn current(&self) -> Arc<SecretSet> {
        self.current.load_full()
    }

    /// The canary this host planted; it must never leave.
    pub fn canary(&self) -> Option<&Canary> {
        self.canary.as_deref()
    }

    /// Reloads from the vault when its names or update times changed.
    /// Returns whether the set was replaced.
    pub async fn refresh(&self, vault: &Vault) -> Result<bool, VaultError> {
        let records = vault.list().await?;
        let fingerprint: Vec<(String, i64)> = records
            .iter()
            .map(|r| (r.name.clone(), r.updated_at))
            .collect();
        if self.current.load().fingerprint == fingerprint {
            return Ok(false);
        }
        let values: BTreeMap<String, SecretValue> = vault.all_values().await?.into_iter().collect();
        let set = SecretSet::new(values, self.canary.as_deref().cloned(), fingerprint);
        self.current.store(Arc::new(set));
        Ok(true)
    }
}
