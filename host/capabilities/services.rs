//! What the host lends every call: the stores and services behind the
//! capabilities (memory, db, secrets, outbound HTTP, audit). One set per
//! runtime, cheap to clone into each call's state; the grant still decides
//! what a component may do with each.

use std::sync::Arc;

use super::audit::AuditSink;
use super::http_outbound::OutboundHttp;
use super::live_secrets::LiveSecrets;
use crate::memory::MemoryStore;
use crate::store::domains::KvStore;

/// Who is calling: the identity every audit record carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: Arc<str>,
    pub version: String,
    /// blake3 of the component's `.wasm`, hex.
    pub digest: String,
}

#[derive(Clone, Default)]
pub struct HostServices {
    /// Workspace memory; `None` answers `not-available` to granted components.
    pub memory: Option<Arc<dyn MemoryStore>>,
    /// The key-value store behind `db`; `None` answers `not-available`.
    pub kv: Option<Arc<dyn KvStore>>,
    /// Decrypted secrets for injection and the leak scanner built from them.
    pub secrets: LiveSecrets,
    /// The mediated outbound HTTP client and the owner's network policy.
    pub http: Arc<OutboundHttp>,
    pub audit: AuditSink,
    /// The completion chain behind `llm`, set once the chain (which calls
    /// adapters through this runtime) exists; unset answers `not-available`.
    pub llm: Arc<std::sync::OnceLock<Arc<dyn crate::llm::Provider>>>,
    /// The channel hub behind `channel-host`, set when `run` serves channels.
    pub channels: Arc<std::sync::OnceLock<Arc<dyn super::channel_host::ChannelSink>>>,
    /// The safety filters' `outbound-http-body` stage, set once the agent's
    /// pipeline exists; unset, bodies get the leak scan only.
    pub http_body_screen: Arc<std::sync::OnceLock<Arc<dyn HttpBodyScreen>>>,
}

/// Shows an outbound request body to the safety filters before it leaves.
#[async_trait::async_trait]
pub trait HttpBodyScreen: Send + Sync {
    /// `Ok(None)`: send it as it is; `Ok(Some(text))`: send this instead;
    /// `Err(reason)`: refuse the request.
    async fn screen(
        &self,
        caller: &str,
        destination: &str,
        body: &str,
    ) -> Result<Option<String>, String>;
}
