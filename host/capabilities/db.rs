//! `db`: a small key-value store for each component (DESIGN §2), kept in the
//! owner's database through [`KvStore`] (SQLite or PostgreSQL).
//!
//! - The namespace is the component's name, so every version of a component
//!   sees the same data and no component sees another's.
//! - Values are bytes. The grant's `quota-bytes` bounds the namespace: keys
//!   and values both count. A write that would pass it answers `limited`
//!   and changes nothing.
//!
//! Order of checks for every call: the grant (`denied("db")`), a store
//! configured on the runtime (`not-available("db")`), the input (`invalid`:
//! a key is 1 to [`MAX_KEY_BYTES`] bytes). Writes then go on: a value that
//! cannot fit the quota even in an empty namespace is refused before it is
//! scanned (`limited`; no point scanning megabytes that will not be stored),
//! then the leak scan of key and value (`denied("db: blocked: …")`; without a
//! scanner every write is refused: fail closed), then the quota against what
//! the namespace holds (`limited`, checked by the store in the same
//! transaction as the write), then the write.
//!
//! `delete` scans its key too: the key goes into the audit trail, which is
//! a database write like any other.
//!
//! `list-keys` answers at most [`MAX_LIST_KEYS`] keys; when more match it
//! answers `limited` (the guest names a narrower prefix) rather than a
//! silently truncated list a guest could mistake for all of them.
//!
//! Audit (never a value): `db.set` (key, bytes), `db.delete` (key, whether it
//! existed), `db.denied` (un-granted use, an unavailable scanner),
//! `db.leak-blocked` (what the scanner found: names and positions only) and
//! `db.limited` (quota). Reads are not audited: they change nothing and
//! reach only the component's own data.

use std::sync::Arc;

use serde_json::{Value, json};

use super::audit::AuditSink;
use super::grants::Capability;
use super::live_secrets::LiveSecrets;
use super::services::Caller;
use super::state::HostState;
use crate::leak::LeakSite;
use crate::runtime::bindings::imports::ironclaw::host::db as wit;
use crate::runtime::bindings::imports::ironclaw::host::types::CapabilityError;
use crate::store::StoreError;
use crate::store::domains::KvStore;
use crate::store::domains::kv::MAX_KEY_BYTES;

/// Most keys one `list-keys` answers.
pub const MAX_LIST_KEYS: usize = 1000;

const DB: &str = "db";

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

/// What one db import needs, taken out of the call's state so that no
/// borrow of it is held across the store's await points.
struct Access {
    store: Arc<dyn KvStore>,
    quota_bytes: u64,
    caller: Arc<Caller>,
    audit: AuditSink,
    secrets: LiveSecrets,
}

impl HostState {
    fn db_access(&self, op: &'static str) -> Result<Access, CapabilityError> {
        let grant = self.check(Capability::Db).ok().and(self.grants.db.as_ref());
        let Some(grant) = grant else {
            self.services.audit.record(
                &self.caller,
                "db.denied",
                json!({ "op": op, "reason": "db is not granted" }),
            );
            return Err(CapabilityError::Denied(DB.to_string()));
        };
        let store = self
            .services
            .kv
            .clone()
            .ok_or_else(|| CapabilityError::NotAvailable(DB.to_string()))?;
        Ok(Access {
            store,
            quota_bytes: grant.quota_bytes,
            caller: self.caller.clone(),
            audit: self.services.audit.clone(),
            secrets: self.services.secrets.clone(),
        })
    }
}

fn check_key(key: &str) -> Result<(), CapabilityError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(CapabilityError::Invalid(format!(
            "{DB}: a key must be 1 to {MAX_KEY_BYTES} bytes long (got {})",
            key.len()
        )));
    }
    Ok(())
}

fn check_prefix(prefix: &str) -> Result<(), CapabilityError> {
    if prefix.len() > MAX_KEY_BYTES {
        return Err(CapabilityError::Invalid(format!(
            "{DB}: a prefix may be at most {MAX_KEY_BYTES} bytes long (got {})",
            prefix.len()
        )));
    }
    Ok(())
}

impl Access {
    fn record(&self, action: &'static str, detail: Value) {
        self.audit.record(&self.caller, action, detail);
    }

    /// The guest learns what went wrong in the store's own words for input
    /// and quota errors; database failures (file paths, SQL) stay in the
    /// host log.
    fn store_error(&self, op: &str, e: StoreError) -> CapabilityError {
        match e {
            StoreError::InvalidInput(m) => CapabilityError::Invalid(format!("{DB}: {m}")),
            StoreError::QuotaExceeded { needed, quota, .. } => CapabilityError::Limited(format!(
                "{DB}: the namespace would hold {needed} bytes; the grant's quota is {quota}"
            )),
            other => {
                tracing::warn!(component = %self.caller.name, op, error = %other, "db store failed");
                CapabilityError::Failed(format!(
                    "{DB}: the store failed during {op}; the host log has details"
                ))
            }
        }
    }

    /// Refuses `bytes` when they hold a stored secret, the canary or a
    /// credential pattern, and when there is no scanner to ask.
    fn scan(&self, op: &'static str, bytes: &[u8], location: &str) -> Result<(), CapabilityError> {
        let set = self.secrets.current();
        let Some(scanner) = set.scanner() else {
            let why = "the leak scanner is unavailable; writes are refused";
            self.record("db.denied", json!({ "op": op, "reason": why }));
            return Err(CapabilityError::Denied(format!("{DB}: {why}")));
        };
        match scanner.check_at(bytes, LeakSite::DbWrite, location) {
            Ok(_) => Ok(()),
            Err(blocked) => {
                // LeakBlocked's text names what was found and where, never
                // the matched bytes: safe for the guest and the audit trail.
                tracing::warn!(component = %self.caller.name, op, canary = blocked.is_canary(), %blocked, "db write blocked");
                self.record(
                    "db.leak-blocked",
                    json!({ "op": op, "reason": blocked.to_string(), "canary": blocked.is_canary() }),
                );
                Err(CapabilityError::Denied(format!("{DB}: blocked: {blocked}")))
            }
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CapabilityError> {
        check_key(key)?;
        self.store
            .get(&self.caller.name, key)
            .await
            .map_err(|e| self.store_error("get", e))
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), CapabilityError> {
        check_key(key)?;
        let needed = (key.len() + value.len()) as u64;
        if needed > self.quota_bytes {
            return Err(self.over_quota(key, value.len(), needed));
        }
        // The key first: the value's location label names it.
        self.scan("set", key.as_bytes(), "db key")?;
        self.scan("set", value, &format!("db write {key}"))?;
        match self
            .store
            .set(&self.caller.name, key, value, self.quota_bytes)
            .await
        {
            Ok(()) => {
                self.record("db.set", json!({ "key": key, "bytes": value.len() }));
                Ok(())
            }
            Err(StoreError::QuotaExceeded { needed, .. }) => {
                Err(self.over_quota(key, value.len(), needed))
            }
            Err(e) => Err(self.store_error("set", e)),
        }
    }

    fn over_quota(&self, key: &str, bytes: usize, needed: u64) -> CapabilityError {
        let quota = self.quota_bytes;
        // The key is not scanned yet when the value alone is too big: an
        // unscanned key stays out of the audit trail.
        self.record(
            "db.limited",
            json!({ "bytes": bytes, "key_bytes": key.len(), "needed": needed, "quota": quota }),
        );
        CapabilityError::Limited(format!(
            "{DB}: the namespace would hold {needed} bytes; the grant's quota is {quota}, \
             nothing was stored"
        ))
    }

    async fn delete(&self, key: &str) -> Result<bool, CapabilityError> {
        check_key(key)?;
        self.scan("delete", key.as_bytes(), "db key")?;
        let existed = self
            .store
            .delete(&self.caller.name, key)
            .await
            .map_err(|e| self.store_error("delete", e))?;
        self.record("db.delete", json!({ "key": key, "existed": existed }));
        Ok(existed)
    }

    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, CapabilityError> {
        check_prefix(prefix)?;
        // One more than allowed: tells "exactly the maximum" from "more".
        let keys = self
            .store
            .list_keys(&self.caller.name, prefix, MAX_LIST_KEYS + 1)
            .await
            .map_err(|e| self.store_error("list-keys", e))?;
        if keys.len() > MAX_LIST_KEYS {
            return Err(CapabilityError::Limited(format!(
                "{DB}: more than {MAX_LIST_KEYS} keys start with `{prefix}`; at most \
                 {MAX_LIST_KEYS} are listed at once, name a narrower prefix"
            )));
        }
        Ok(keys)
    }
}

impl wit::Host for HostState {
    async fn get(&mut self, key: String) -> Answer<Option<Vec<u8>>> {
        Ok(match self.db_access("get") {
            Ok(access) => access.get(&key).await,
            Err(refused) => Err(refused),
        })
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Answer<()> {
        Ok(match self.db_access("set") {
            Ok(access) => access.set(&key, &value).await,
            Err(refused) => Err(refused),
        })
    }

    async fn delete(&mut self, key: String) -> Answer<bool> {
        Ok(match self.db_access("delete") {
            Ok(access) => access.delete(&key).await,
            Err(refused) => Err(refused),
        })
    }

    async fn list_keys(&mut self, prefix: String) -> Answer<Vec<String>> {
        Ok(match self.db_access("list-keys") {
            Ok(access) => access.list_keys(&prefix).await,
            Err(refused) => Err(refused),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_512_bytes() {
        assert!(matches!(check_key(""), Err(CapabilityError::Invalid(_))));
        assert!(check_key("k").is_ok());
        assert!(check_key(&"k".repeat(MAX_KEY_BYTES)).is_ok());
        assert!(matches!(
            check_key(&"k".repeat(MAX_KEY_BYTES + 1)),
            Err(CapabilityError::Invalid(_))
        ));
    }

    #[test]
    fn an_empty_prefix_lists_everything_but_a_long_one_is_invalid() {
        assert!(check_prefix("").is_ok());
        assert!(matches!(
            check_prefix(&"p".repeat(MAX_KEY_BYTES + 1)),
            Err(CapabilityError::Invalid(_))
        ));
    }
}
