//! Calling LLM adapter components: `complete` (streaming chunks to a sink),
//! `embed` and `describe-model`, each in a fresh store under the adapter's
//! budgets and with the grant the owner's configuration derives.

use std::sync::Arc;

use super::call::CallSetup;
use super::error::CallError;
use super::usage::Usage;
use super::{LoadedComponent, Runtime};
use crate::capabilities::Grants;
use crate::llm::{Completion, CompletionRequest, LlmError, ModelInfo, StreamSink};
use crate::runtime::bindings::imports::ironclaw::host::llm_types as wit;

/// A call that could not finish: the adapter trapped, ran out of a budget,
/// or is not an adapter. Reaches the chain as a transient failure.
fn call_failed(component: &str, e: CallError) -> LlmError {
    LlmError::Transient(format!("adapter `{component}` failed: {e}"))
}

impl Runtime {
    pub async fn adapter_complete(
        &self,
        loaded: &LoadedComponent,
        grants: Arc<Grants>,
        request: &CompletionRequest,
        stream: Option<StreamSink>,
    ) -> (Result<Completion, LlmError>, Usage) {
        let request = wit::CompletionRequest::from(request);
        let setup = CallSetup {
            grants: Some(grants),
            stream,
        };
        let (result, usage) = self
            .run(loaded, setup, async move |store, pre| {
                let instance = pre.llm_adapter()?.instantiate_async(&mut *store).await?;
                instance
                    .ironclaw_host_provider()
                    .call_complete(&mut *store, &request)
                    .await
            })
            .await;
        let result = match result {
            Ok(Ok(c)) => Ok(c.into()),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(call_failed(&loaded.name, e)),
        };
        (result, usage)
    }

    pub async fn adapter_embed(
        &self,
        loaded: &LoadedComponent,
        grants: Arc<Grants>,
        texts: &[String],
    ) -> Result<Vec<Vec<f32>>, LlmError> {
        let setup = CallSetup {
            grants: Some(grants),
            stream: None,
        };
        let (result, _usage) = self
            .run(loaded, setup, async move |store, pre| {
                let instance = pre.llm_adapter()?.instantiate_async(&mut *store).await?;
                instance
                    .ironclaw_host_provider()
                    .call_embed(&mut *store, texts)
                    .await
            })
            .await;
        match result {
            Ok(r) => r.map_err(Into::into),
            Err(e) => Err(call_failed(&loaded.name, e)),
        }
    }

    pub async fn adapter_describe(
        &self,
        loaded: &LoadedComponent,
        grants: Arc<Grants>,
    ) -> Result<ModelInfo, LlmError> {
        let setup = CallSetup {
            grants: Some(grants),
            stream: None,
        };
        let (result, _usage) = self
            .run(loaded, setup, async move |store, pre| {
                let instance = pre.llm_adapter()?.instantiate_async(&mut *store).await?;
                instance
                    .ironclaw_host_provider()
                    .call_describe_model(&mut *store)
                    .await
            })
            .await;
        match result {
            Ok(r) => r.map(Into::into).map_err(Into::into),
            Err(e) => Err(call_failed(&loaded.name, e)),
        }
    }
}
