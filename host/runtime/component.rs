//! Loading a component: read → digest → compile (cache) → `InstancePre` →
//! smoke test (a tool's `describe`, an adapter's instantiation, a filter's
//! `stages`, a hook's `register`) → ready to call.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::bindings::channel::ChannelComponentPre;
use super::bindings::hook::HookComponentPre;
use super::bindings::llm_adapter::LlmAdapterComponentPre;
use super::bindings::safety_filter::SafetyFilterComponentPre;
use super::bindings::tool::ToolComponentPre;
use super::cache::CacheOutcome;
use super::call::{CallSetup, KindPre};
use super::error::CallError;
use super::hook::Registration;
use super::safety::Stage;
use super::tool::ToolInfo;
use super::{Limits, Runtime};
use crate::capabilities::Grants;
use crate::registry::{ComponentKind, Manifest};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Compile { path: String, message: String },
    #[error("{path}: does not implement the `{world}` world: {message}")]
    World {
        path: String,
        world: &'static str,
        message: String,
    },
    #[error("{path}: {kind} components cannot be loaded by this host version yet")]
    UnsupportedKind { path: String, kind: &'static str },
    #[error("{path}: smoke test failed: {message}")]
    Smoke { path: String, message: String },
}

/// Facts about how a component became ready, for `doctor`, benchmarks and logs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoadReport {
    pub cache: CacheOutcome,
    #[serde(serialize_with = "millis")]
    pub compile_ms: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// One loaded version of a component. Cheap to share; every call gets its own store.
pub struct LoadedComponent {
    pub name: Arc<str>,
    pub manifest: Manifest,
    pub digest: blake3::Hash,
    pub source: PathBuf,
    pub limits: Limits,
    pub grants: Arc<Grants>,
    pub tools: Vec<ToolInfo>,
    /// A safety filter's stages (empty for other kinds).
    pub stages: Vec<Stage>,
    /// A hook's subscription (`None` for other kinds).
    pub hook: Option<Registration>,
    pub report: LoadReport,
    pub(crate) log_rate: Arc<crate::capabilities::guest_log::LogRate>,
    /// Name, version and digest, as audit records carry them.
    pub(crate) caller: Arc<crate::capabilities::Caller>,
    pub(crate) pre: KindPre,
}

impl Runtime {
    /// Loads the component at `wasm` with `manifest`, granting `grants`.
    pub async fn load(
        &self,
        wasm: &Path,
        manifest: Manifest,
        grants: Grants,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        let path = wasm.display().to_string();
        let bytes = tokio::fs::read(wasm)
            .await
            .map_err(|source| LoadError::Read {
                path: path.clone(),
                source,
            })?;
        self.load_bytes(&bytes, wasm, manifest, grants).await
    }

    pub async fn load_bytes(
        &self,
        bytes: &[u8],
        source: &Path,
        manifest: Manifest,
        grants: Grants,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        let path = source.display().to_string();
        let world = match manifest.kind {
            ComponentKind::Tool => "tool-component",
            ComponentKind::LlmAdapter => "llm-adapter-component",
            ComponentKind::SafetyFilter => "safety-filter-component",
            ComponentKind::Hook => "hook-component",
            ComponentKind::Channel => "channel-component",
        };
        let digest = blake3::hash(bytes);
        let compiled = crate::cpu::run_cpu_bound(|| self.compile(&digest, bytes));
        let (component, cache, compile_ms) = compiled.map_err(|e| LoadError::Compile {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let world_error = |e: wasmtime::Error| LoadError::World {
            path: path.clone(),
            world,
            message: format!("{e:#}"),
        };
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(world_error)?;
        let pre = match manifest.kind {
            ComponentKind::LlmAdapter => {
                KindPre::LlmAdapter(LlmAdapterComponentPre::new(instance_pre).map_err(world_error)?)
            }
            ComponentKind::SafetyFilter => KindPre::SafetyFilter(
                SafetyFilterComponentPre::new(instance_pre).map_err(world_error)?,
            ),
            ComponentKind::Hook => {
                KindPre::Hook(HookComponentPre::new(instance_pre).map_err(world_error)?)
            }
            ComponentKind::Channel => {
                KindPre::Channel(ChannelComponentPre::new(instance_pre).map_err(world_error)?)
            }
            _ => KindPre::Tool(ToolComponentPre::new(instance_pre).map_err(world_error)?),
        };
        let limits = Limits::resolve(&manifest.limits, &self.limits);
        let name: Arc<str> = Arc::from(manifest.name.as_str());
        let caller = Arc::new(crate::capabilities::Caller {
            name: name.clone(),
            version: manifest.version.to_string(),
            digest: digest.to_hex().to_string(),
        });
        let mut loaded = LoadedComponent {
            caller,
            name,
            manifest,
            digest,
            source: source.to_path_buf(),
            limits,
            grants: Arc::new(grants),
            tools: Vec::new(),
            stages: Vec::new(),
            hook: None,
            report: LoadReport { cache, compile_ms },
            log_rate: Arc::new(crate::capabilities::guest_log::LogRate::new(
                &self.settings.logging,
            )),
            pre,
        };
        let smoke_failed = |e: CallError| LoadError::Smoke {
            path: path.clone(),
            message: e.to_string(),
        };
        match loaded.manifest.kind {
            ComponentKind::Tool => {
                let (described, _usage) = self.describe(&loaded).await;
                loaded.tools = described.map_err(smoke_failed)?;
            }
            // What a filter or hook subscribes to is asked once, here: the
            // agent's pipeline reads it on every turn without a call.
            ComponentKind::SafetyFilter => {
                let (stages, _usage) = self.filter_stages(&loaded).await;
                loaded.stages = stages.map_err(smoke_failed)?;
            }
            ComponentKind::Hook => {
                let (registration, _usage) = self.hook_register(&loaded).await;
                loaded.hook = Some(registration.map_err(smoke_failed)?);
            }
            // A channel's smoke test is instantiation too: `on-start`
            // registers webhooks with the provider, which the channel host
            // does once it serves the channel.
            ComponentKind::Channel => {
                let (smoke, _usage) = self
                    .run(&loaded, CallSetup::default(), async |store, pre| {
                        pre.channel()?.instantiate_async(&mut *store).await?;
                        Ok(())
                    })
                    .await;
                smoke.map_err(smoke_failed)?;
            }
            // An adapter's smoke test is instantiation: its exports do
            // network work with the owner's configuration, which a load
            // does not have.
            _ => {
                let (smoke, _usage) = self
                    .run(&loaded, CallSetup::default(), async |store, pre| {
                        pre.llm_adapter()?.instantiate_async(&mut *store).await?;
                        Ok(())
                    })
                    .await;
                smoke.map_err(smoke_failed)?;
            }
        }
        tracing::debug!(component = %loaded.name, digest = %digest.to_hex(), ?cache, "component loaded");
        Ok(Arc::new(loaded))
    }
}
