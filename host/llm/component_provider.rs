//! An LLM adapter component behind [`Provider`]: each call takes the
//! version serving now (hot swap never disturbs a call in flight) and runs
//! it with the grant the owner's settings derive.

use std::sync::{Arc, Mutex, Weak};

use super::adapter_grant::{AdapterSettings, adapter_grant};
use super::provider::{Provider, StreamSink};
use super::types::{Completion, CompletionRequest, LlmError, ModelInfo};
use crate::capabilities::Grants;
use crate::registry::ComponentKind;
use crate::runtime::LoadedComponent;
use crate::runtime::Runtime;
use crate::runtime::live::LiveSet;

/// What one call runs on: the runtime, the serving adapter, its grant.
type Serving = (Arc<Runtime>, Arc<LoadedComponent>, Arc<Grants>);

pub struct ComponentProvider {
    name: String,
    settings: AdapterSettings,
    /// Weak: the runtime's `llm` capability holds the chain that holds
    /// this provider.
    runtime: Weak<Runtime>,
    live: Arc<LiveSet>,
    /// The derived grant for the version last seen, by digest.
    grant: Mutex<Option<(blake3::Hash, Arc<Grants>)>>,
    /// `describe-model` of the version last seen: it depends only on the
    /// component and its settings, and the agent asks before every call.
    described: Mutex<Option<(blake3::Hash, ModelInfo)>>,
}

impl ComponentProvider {
    pub fn new(settings: AdapterSettings, runtime: &Arc<Runtime>, live: Arc<LiveSet>) -> Self {
        let name = match &settings.model {
            Some(model) => format!("{}:{model}", settings.adapter),
            None => settings.adapter.clone(),
        };
        ComponentProvider {
            name,
            settings,
            runtime: Arc::downgrade(runtime),
            live,
            grant: Mutex::new(None),
            described: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &AdapterSettings {
        &self.settings
    }

    /// The serving adapter and the grant this configuration gives it.
    fn current(&self) -> Result<Serving, LlmError> {
        let runtime = self
            .runtime
            .upgrade()
            .ok_or_else(|| LlmError::NotAvailable("the host is shutting down".into()))?;
        let adapter = &self.settings.adapter;
        let loaded = self.live.get(adapter).ok_or_else(|| {
            LlmError::NotAvailable(format!(
                "the LLM adapter component `{adapter}` is not installed or failed to load (see `ironclaw component list`)"
            ))
        })?;
        if loaded.manifest.kind != ComponentKind::LlmAdapter {
            return Err(LlmError::NotAvailable(format!(
                "component `{adapter}` is a {} component, not an LLM adapter",
                loaded.manifest.kind.as_str()
            )));
        }
        if let Ok(cached) = self.grant.lock()
            && let Some((digest, grant)) = cached.as_ref()
            && *digest == loaded.digest
        {
            return Ok((runtime, loaded.clone(), grant.clone()));
        }
        let grant = Arc::new(
            adapter_grant(&loaded.manifest, &loaded.grants, &self.settings)
                .map_err(|e| LlmError::InvalidRequest(e.to_string()))?,
        );
        if let Ok(mut cached) = self.grant.lock() {
            *cached = Some((loaded.digest, grant.clone()));
        }
        Ok((runtime, loaded, grant))
    }
}

#[async_trait::async_trait]
impl Provider for ComponentProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn complete(
        &self,
        request: &CompletionRequest,
        stream: Option<StreamSink>,
    ) -> Result<Completion, LlmError> {
        let (runtime, loaded, grant) = self.current()?;
        let (result, usage) = runtime
            .adapter_complete(&loaded, grant, request, stream)
            .await;
        tracing::debug!(
            provider = %self.name,
            fuel = usage.fuel_used,
            wall_ms = usage.wall_time_us.as_millis() as u64,
            ok = result.is_ok(),
            "adapter call"
        );
        result
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let (runtime, loaded, grant) = self.current()?;
        runtime.adapter_embed(&loaded, grant, texts).await
    }

    async fn describe(&self) -> Result<ModelInfo, LlmError> {
        let (runtime, loaded, grant) = self.current()?;
        if let Ok(cached) = self.described.lock()
            && let Some((digest, info)) = cached.as_ref()
            && *digest == loaded.digest
        {
            return Ok(info.clone());
        }
        let info = runtime.adapter_describe(&loaded, grant).await?;
        if let Ok(mut cached) = self.described.lock() {
            *cached = Some((loaded.digest, info.clone()));
        }
        Ok(info)
    }
}
