//! `llm` for components granted it (completion through the host's chain),
//! `llm-stream` for adapters (text chunks to the caller's sink), and
//! `secrets.exists` (presence only: a guest never reads a value).

use super::grants::Capability;
use super::state::HostState;
use crate::leak::LeakSite;
use crate::llm::{CompletionRequest, LlmError};
use crate::runtime::bindings::imports::ironclaw::host::{
    llm, llm_stream, llm_types, secrets, types,
};
use types::CapabilityError;

type LlmAnswer<T> = wasmtime::Result<Result<T, llm_types::LlmError>>;

impl HostState {
    /// The chain when `llm` is granted (and `part` of it: complete or
    /// embed), else the typed refusal.
    fn llm_chain(
        &self,
        part: &str,
    ) -> Result<std::sync::Arc<dyn crate::llm::Provider>, llm_types::LlmError> {
        let Some(grant) = &self.grants.llm else {
            return Err(llm_types::LlmError::Denied("llm".into()));
        };
        let allowed = match part {
            "embed" => grant.embed,
            _ => grant.complete,
        };
        if !allowed {
            return Err(llm_types::LlmError::Denied(format!(
                "llm: `{part}` is not granted"
            )));
        }
        self.services.llm.get().cloned().ok_or_else(|| {
            llm_types::LlmError::NotAvailable(
                "no LLM is configured on this host (see `[llm]` in config.toml)".into(),
            )
        })
    }
}

impl llm::Host for HostState {
    async fn complete(
        &mut self,
        request: llm_types::CompletionRequest,
    ) -> LlmAnswer<llm_types::Completion> {
        let chain = match self.llm_chain("complete") {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let request = CompletionRequest::from(request);
        let result = chain.complete(&request, None).await;
        Ok(result
            .and_then(|mut c| {
                c.content = self.scrub_model_output(c.content)?;
                Ok(c)
            })
            .map(Into::into)
            .map_err(Into::into))
    }

    async fn embed(&mut self, texts: Vec<String>) -> LlmAnswer<Vec<Vec<f32>>> {
        let chain = match self.llm_chain("embed") {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        Ok(chain.embed(&texts).await.map_err(Into::into))
    }

    async fn describe_model(&mut self) -> LlmAnswer<llm_types::ModelInfo> {
        let chain = match self.llm_chain("complete") {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        Ok(chain.describe().await.map(Into::into).map_err(Into::into))
    }
}

impl HostState {
    /// The host floor on model text before a guest sees it: the owner's
    /// secret values redacted, a canary refused.
    fn scrub_model_output(&self, text: String) -> Result<String, LlmError> {
        let set = self.services.secrets.current();
        let Some(scanner) = set.scanner() else {
            return Err(LlmError::Failed(
                "the leak scanner is unavailable; model output withheld".into(),
            ));
        };
        match scanner.check_at(text.as_bytes(), LeakSite::ModelOutput, "model output") {
            Ok(std::borrow::Cow::Borrowed(_)) => Ok(text),
            Ok(std::borrow::Cow::Owned(redacted)) => {
                Ok(String::from_utf8_lossy(&redacted).into_owned())
            }
            Err(blocked) => Err(LlmError::Failed(blocked.to_string())),
        }
    }
}

impl llm_stream::Host for HostState {
    async fn chunk(&mut self, text: String) -> wasmtime::Result<Result<(), CapabilityError>> {
        if let Err(denied) = self.check(Capability::LlmStream) {
            return Ok(Err(denied));
        }
        let Some(sink) = self.stream.clone() else {
            return Ok(Err(CapabilityError::NotAvailable("llm-stream".into())));
        };
        // The guard holds back the tail that may be the start of a secret
        // still arriving, and redacts secrets split across chunks.
        let set = self.services.secrets.current();
        match self.stream_guard.push(&set, &text) {
            Ok(clean) => {
                if !clean.is_empty() {
                    sink(&clean);
                }
                Ok(Ok(()))
            }
            Err(e) => {
                self.stream = None;
                Ok(Err(CapabilityError::Failed(e.to_string())))
            }
        }
    }
}

impl HostState {
    /// At the end of a successful adapter call: what the guard still holds.
    pub(crate) fn finish_stream(&mut self) {
        let Some(sink) = self.stream.take() else {
            return;
        };
        let set = self.services.secrets.current();
        if let Ok(rest) = self.stream_guard.finish(&set)
            && !rest.is_empty()
        {
            sink(&rest);
        }
    }
}

impl secrets::Host for HostState {
    async fn exists(&mut self, name: String) -> wasmtime::Result<Result<bool, CapabilityError>> {
        if let Err(denied) = self.check(Capability::Secrets) {
            return Ok(Err(denied));
        }
        if !self.grants.secrets.iter().any(|s| s.name == name) {
            return Ok(Err(CapabilityError::Denied(format!(
                "secrets: `{name}` is not granted to this component"
            ))));
        }
        Ok(Ok(self.services.secrets.current().get(&name).is_some()))
    }
}
