//! `memory`: the owner's workspace memory, limited to the grant's prefixes
//! (DESIGN §2, §3).
//!
//! Order of checks for every call: the grant (`denied("memory")`), a store
//! configured on the runtime (`not-available("memory")`), the input (sizes,
//! path syntax: `invalid`/`limited`), then the grant's path scope
//! (`denied("memory: …why")`). Path syntax is checked before the scope so that
//! `notes/../SOUL.md` can never pass a `notes/` prefix test.
//!
//! Scope rules (see [`super::memory_scope`]):
//! - `read`, `tree` and `search` see only paths in the `read` scope. `read`
//!   of a path outside it is denied whether or not the document exists.
//!   `tree(prefix)` returns the readable subset of the paths under `prefix`,
//!   and is denied only when no readable path can start with `prefix` (so
//!   `tree("")` works for every grant). `search` drops hits outside the scope;
//!   a scoped component's search asks the store for its maximum number of
//!   candidates first, so filtering still leaves up to `limit` hits when
//!   they exist.
//! - `write` and `delete` need the `write` scope. Writing does not imply
//!   reading.
//!
//! Writes and deletes are logged at info (component, path, size; never the
//! content): the audit trail until the audit store lands.

use std::sync::Arc;

use super::grants::{Capability, Grants};
use super::memory_scope::Scope;
use super::state::HostState;
use crate::memory::workspace::{validate_path, validate_prefix};
use crate::memory::{MemoryError, MemoryStore};
use crate::runtime::bindings::imports::ironclaw::host::memory as wit;
use crate::runtime::bindings::imports::ironclaw::host::types::CapabilityError;

/// Largest document a guest may write (bytes of UTF-8).
pub const MAX_CONTENT_BYTES: usize = 1024 * 1024;
/// Longest search query (bytes): a query is words, not a document.
pub const MAX_QUERY_BYTES: usize = 4096;
/// Most hits one search returns; a guest's `limit` is clamped to 1..=this.
pub const MAX_SEARCH_LIMIT: u32 = 50;
/// Candidates asked of the store when the read scope is narrower than the
/// workspace: the SQLite store's own maximum, so hits outside the scope
/// cannot crowd out the ones inside.
const SCOPED_SEARCH_CANDIDATES: usize = 100;
/// Most paths one `tree` returns; more asks the guest to narrow the prefix
/// rather than lowering an unbounded list into its memory.
pub const MAX_TREE_PATHS: usize = 10_000;

const MEMORY: &str = "memory";

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

/// What one memory import needs, taken out of the call's state so that no
/// borrow of it is held across the store's await points.
struct Access {
    store: Arc<dyn MemoryStore>,
    grants: Arc<Grants>,
    component: Arc<str>,
}

impl HostState {
    fn memory_access(&self) -> Result<Access, CapabilityError> {
        self.check(Capability::Memory)?;
        let store = self
            .services
            .memory
            .clone()
            .ok_or_else(|| CapabilityError::NotAvailable(MEMORY.to_string()))?;
        Ok(Access {
            store,
            grants: self.grants.clone(),
            component: self.component.clone(),
        })
    }
}

fn denied_scope(operation: &str, path: &str, half: &str, scope: &Scope) -> CapabilityError {
    CapabilityError::Denied(format!(
        "{MEMORY}: {operation} `{path}` is outside this component's {half} grant ({})",
        scope.describe()
    ))
}

fn invalid(e: MemoryError) -> CapabilityError {
    CapabilityError::Invalid(e.to_string())
}

impl Access {
    fn read_scope(&self) -> Scope {
        Scope::new(self.grants.memory.as_ref().map_or(&[][..], |m| &m.read))
    }

    fn write_scope(&self) -> Scope {
        Scope::new(self.grants.memory.as_ref().map_or(&[][..], |m| &m.write))
    }

    /// The guest learns what went wrong in the store's own words, except
    /// for database failures, whose text (file paths, SQL) stays in the
    /// host log.
    fn store_error(&self, operation: &str, e: MemoryError) -> CapabilityError {
        match e {
            MemoryError::InvalidPath { .. } => invalid(e),
            MemoryError::Store(inner) => {
                tracing::warn!(component = %self.component, operation, error = %inner,
                    "memory store failed");
                CapabilityError::Failed(format!(
                    "the workspace store failed during {operation}; the host log has details"
                ))
            }
            other => CapabilityError::Failed(other.to_string()),
        }
    }

    async fn read(&self, path: &str) -> Result<Option<wit::Document>, CapabilityError> {
        validate_path(path).map_err(invalid)?;
        let scope = self.read_scope();
        if !scope.covers(path) {
            return Err(denied_scope("read", path, "read", &scope));
        }
        let doc = self
            .store
            .read(path)
            .await
            .map_err(|e| self.store_error("read", e))?;
        Ok(doc.map(|d| wit::Document {
            path: d.path,
            content: d.content,
            updated_at: u64::try_from(d.updated_at).unwrap_or(0),
        }))
    }

    async fn write(&self, path: &str, content: &str) -> Result<(), CapabilityError> {
        if content.len() > MAX_CONTENT_BYTES {
            return Err(CapabilityError::Limited(format!(
                "{MEMORY}: content is {} bytes; a document may be at most {MAX_CONTENT_BYTES} bytes (1 MiB)",
                content.len()
            )));
        }
        validate_path(path).map_err(invalid)?;
        let scope = self.write_scope();
        if !scope.covers(path) {
            tracing::info!(component = %self.component, path, "memory write denied: outside the write grant");
            return Err(denied_scope("write", path, "write", &scope));
        }
        let outcome = self
            .store
            .write(path, content)
            .await
            .map_err(|e| self.store_error("write", e))?;
        tracing::info!(component = %self.component, path, bytes = content.len(), ?outcome, "memory write");
        Ok(())
    }

    async fn delete(&self, path: &str) -> Result<bool, CapabilityError> {
        validate_path(path).map_err(invalid)?;
        let scope = self.write_scope();
        if !scope.covers(path) {
            tracing::info!(component = %self.component, path, "memory delete denied: outside the write grant");
            return Err(denied_scope("delete", path, "write", &scope));
        }
        let existed = self
            .store
            .delete(path)
            .await
            .map_err(|e| self.store_error("delete", e))?;
        tracing::info!(component = %self.component, path, existed, "memory delete");
        Ok(existed)
    }

    async fn tree(&self, prefix: &str) -> Result<Vec<String>, CapabilityError> {
        validate_prefix(prefix).map_err(invalid)?;
        let scope = self.read_scope();
        if !scope.reaches_under(prefix) {
            return Err(denied_scope("tree", prefix, "read", &scope));
        }
        let mut paths = self
            .store
            .tree(prefix)
            .await
            .map_err(|e| self.store_error("tree", e))?;
        paths.retain(|p| scope.covers(p));
        if paths.len() > MAX_TREE_PATHS {
            return Err(CapabilityError::Limited(format!(
                "{MEMORY}: {} paths under `{prefix}`; at most {MAX_TREE_PATHS} are listed at once, \
                 name a narrower prefix",
                paths.len()
            )));
        }
        Ok(paths)
    }

    async fn search(
        &self,
        query: &str,
        limit: u32,
    ) -> Result<Vec<wit::SearchHit>, CapabilityError> {
        if query.trim().is_empty() {
            return Err(CapabilityError::Invalid(format!(
                "{MEMORY}: the search query is empty"
            )));
        }
        if query.len() > MAX_QUERY_BYTES {
            return Err(CapabilityError::Invalid(format!(
                "{MEMORY}: the search query is {} bytes; at most {MAX_QUERY_BYTES}",
                query.len()
            )));
        }
        let limit = limit.clamp(1, MAX_SEARCH_LIMIT) as usize;
        let scope = self.read_scope();
        let asked = if scope.is_everything() {
            limit
        } else {
            SCOPED_SEARCH_CANDIDATES
        };
        let hits = self
            .store
            .search(query, asked)
            .await
            .map_err(|e| self.store_error("search", e))?;
        Ok(hits
            .into_iter()
            .filter(|h| scope.covers(&h.path))
            .take(limit)
            .map(|h| wit::SearchHit {
                path: h.path,
                snippet: h.snippet,
                score: h.score,
            })
            .collect())
    }
}

impl wit::Host for HostState {
    async fn read(&mut self, path: String) -> Answer<Option<wit::Document>> {
        Ok(match self.memory_access() {
            Ok(access) => access.read(&path).await,
            Err(refused) => Err(refused),
        })
    }

    async fn write(&mut self, path: String, content: String) -> Answer<()> {
        Ok(match self.memory_access() {
            Ok(access) => access.write(&path, &content).await,
            Err(refused) => Err(refused),
        })
    }

    async fn delete(&mut self, path: String) -> Answer<bool> {
        Ok(match self.memory_access() {
            Ok(access) => access.delete(&path).await,
            Err(refused) => Err(refused),
        })
    }

    async fn tree(&mut self, prefix: String) -> Answer<Vec<String>> {
        Ok(match self.memory_access() {
            Ok(access) => access.tree(&prefix).await,
            Err(refused) => Err(refused),
        })
    }

    async fn search(&mut self, query: String, limit: u32) -> Answer<Vec<wit::SearchHit>> {
        Ok(match self.memory_access() {
            Ok(access) => access.search(&query, limit).await,
            Err(refused) => Err(refused),
        })
    }
}
