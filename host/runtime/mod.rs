//! The component runtime (DESIGN §4): one engine, compile once per digest
//! with an on-disk precompiled cache, one `InstancePre` per loaded version,
//! a fresh `Store` per call with four budgets, and a usage record per call.

pub mod adapter;
pub mod bindings;
pub mod cache;
mod call;
pub mod channel;
pub mod component;
pub mod engine;
pub mod error;
pub mod hook;
pub mod limits;
pub mod live;
pub mod safety;
pub mod tool;
pub mod usage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::capabilities::audit::AuditSink;
use crate::capabilities::http_outbound::OutboundHttp;
use crate::capabilities::live_secrets::LiveSecrets;
use crate::capabilities::{self, CallSettings, Grants, HostServices, HostState};
use crate::config::{Config, Home, LimitsConfig};
use crate::memory::MemoryStore;
use crate::store::domains::KvStore;

pub use cache::CacheOutcome;
pub use component::{LoadError, LoadedComponent};
pub use engine::Allocator;
pub use error::{CallError, CallErrorKind};
pub use limits::Limits;
pub use tool::{ToolInfo, ToolOutput};
pub use usage::Usage;

/// Extra time the tokio timeout allows past the epoch deadline, so that a
/// guest computing past its budget is reported by the (more precise) epoch
/// trap and the tokio timeout catches time spent waiting on the host.
const TIMEOUT_GRACE: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    #[error("cannot link host capabilities: {0}")]
    Link(String),
}

pub struct Runtime {
    engine: Engine,
    allocator: Allocator,
    linker: Linker<HostState>,
    cache: cache::PrecompiledCache,
    compiled: Mutex<HashMap<blake3::Hash, Component>>,
    limits: LimitsConfig,
    settings: CallSettings,
    epoch_tick: Duration,
    component_settings:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// What calls may use: memory, db, secrets, outbound HTTP, audit.
    services: HostServices,
}

impl Runtime {
    /// Builds the engine (pooling when possible), the linker with every host
    /// capability, and the precompiled cache under `home` (when enabled).
    pub fn new(config: &Config, home: &Home) -> Result<Runtime, RuntimeError> {
        let max = Limits::max(&config.limits);
        let (engine, allocator) = engine::build(&config.runtime, &max)?;
        let epoch_tick = Duration::from_millis(config.runtime.epoch_tick_ms);
        engine::start_epoch_ticker(&engine, epoch_tick);
        let mut linker = Linker::new(&engine);
        capabilities::add_to_linker(&mut linker)
            .map_err(|e| RuntimeError::Link(format!("{e:#}")))?;
        let cache_dir = config.runtime.cache.then(|| home.cache_dir());
        let cache = cache::PrecompiledCache::new(cache_dir, engine::fingerprint(&engine));
        Ok(Runtime {
            engine,
            allocator,
            linker,
            cache,
            compiled: Mutex::new(HashMap::new()),
            limits: config.limits.clone(),
            settings: CallSettings {
                stdio_bytes: config.runtime.guest_stdio_bytes,
                logging: config.logging.clone(),
            },
            epoch_tick,
            component_settings: config.components.settings.clone(),
            services: HostServices {
                http: Arc::new(OutboundHttp::new(config.network.clone().with_env())),
                ..HostServices::default()
            },
        })
    }

    /// Serves the `memory` capability from `store` in every later call
    /// (components' grants still decide which paths they reach).
    pub fn set_memory(&mut self, store: Arc<dyn MemoryStore>) {
        self.services.memory = Some(store);
    }

    /// Serves the `db` capability from `store` (namespaced per component).
    pub fn set_kv(&mut self, store: Arc<dyn KvStore>) {
        self.services.kv = Some(store);
    }

    /// The secrets injected into outbound requests (and scanned for).
    pub fn set_secrets(&mut self, secrets: LiveSecrets) {
        self.services.secrets = secrets;
    }

    pub fn set_audit(&mut self, audit: AuditSink) {
        self.services.audit = audit;
    }

    /// Replaces the outbound HTTP client (another `[network]` policy).
    pub fn set_network(&mut self, config: crate::net::NetworkConfig) {
        self.services.http = Arc::new(OutboundHttp::new(config));
    }

    pub fn services(&self) -> &HostServices {
        &self.services
    }

    /// [`Runtime::set_memory`] as a builder step.
    pub fn with_memory(mut self, store: Arc<dyn MemoryStore>) -> Runtime {
        self.set_memory(store);
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn allocator(&self) -> Allocator {
        self.allocator
    }

    pub fn cache(&self) -> &cache::PrecompiledCache {
        &self.cache
    }

    /// The grant for a component: what it requests plus the owner's settings.
    pub fn grants_as_requested(&self, manifest: &crate::registry::Manifest) -> Grants {
        let settings = self
            .component_settings
            .get(&manifest.name)
            .cloned()
            .unwrap_or_default();
        Grants::requested_by(manifest).with_settings(settings)
    }

    /// Compiles (or fetches) the component for `bytes` with digest `digest`.
    fn compile(
        &self,
        digest: &blake3::Hash,
        bytes: &[u8],
    ) -> Result<(Component, CacheOutcome, Duration), cache::CompileError> {
        if let Ok(map) = self.compiled.lock()
            && let Some(c) = map.get(digest)
        {
            return Ok((c.clone(), CacheOutcome::Memory, Duration::ZERO));
        }
        let (component, outcome, took) = self.cache.load_or_compile(&self.engine, digest, bytes)?;
        if let Ok(mut map) = self.compiled.lock() {
            map.insert(*digest, component.clone());
        }
        Ok((component, outcome, took))
    }

    fn epoch_ticks(&self, wall: Duration) -> u64 {
        let tick = self.epoch_tick.as_millis().max(1);
        u64::try_from(wall.as_millis().div_ceil(tick))
            .unwrap_or(u64::MAX)
            .max(1)
    }
}
