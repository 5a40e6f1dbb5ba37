//! Interfaces whose host side arrives in later work (secrets vault,
//! llm chain, channels). Each already checks the grant, so a
//! component that was not granted the capability gets `denied`; a granted
//! one gets `not-available` naming the capability. Never a trap.

use super::grants::Capability;
use super::state::HostState;
use crate::runtime::bindings::imports::ironclaw::host::{
    channel_host, llm, llm_stream, llm_types, secrets, types,
};
use types::CapabilityError;

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

impl HostState {
    fn not_yet<T>(&self, capability: Capability) -> Answer<T> {
        Ok(Err(match self.check(capability) {
            Err(denied) => denied,
            Ok(()) => CapabilityError::NotAvailable(capability.as_str().to_string()),
        }))
    }

    fn llm_not_yet<T>(
        &self,
        capability: Capability,
    ) -> wasmtime::Result<Result<T, llm_types::LlmError>> {
        Ok(Err(match self.check(capability) {
            Err(_) => llm_types::LlmError::Denied(capability.as_str().to_string()),
            Ok(()) => llm_types::LlmError::NotAvailable(capability.as_str().to_string()),
        }))
    }
}

impl types::Host for HostState {}
impl llm_types::Host for HostState {}

impl secrets::Host for HostState {
    async fn exists(&mut self, _name: String) -> Answer<bool> {
        self.not_yet(Capability::Secrets)
    }
}

impl llm::Host for HostState {
    async fn complete(
        &mut self,
        _request: llm_types::CompletionRequest,
    ) -> wasmtime::Result<Result<llm_types::Completion, llm_types::LlmError>> {
        self.llm_not_yet(Capability::Llm)
    }
    async fn embed(
        &mut self,
        _texts: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<Vec<f32>>, llm_types::LlmError>> {
        self.llm_not_yet(Capability::Llm)
    }
    async fn describe_model(
        &mut self,
    ) -> wasmtime::Result<Result<llm_types::ModelInfo, llm_types::LlmError>> {
        self.llm_not_yet(Capability::Llm)
    }
}

impl channel_host::Host for HostState {
    async fn emit(&mut self, _message: channel_host::InboundMessage) -> Answer<()> {
        self.not_yet(Capability::ChannelHost)
    }
}

impl llm_stream::Host for HostState {
    async fn chunk(&mut self, _text: String) -> Answer<()> {
        self.not_yet(Capability::LlmStream)
    }
}
