//! Interfaces whose host side arrives in later work (channels). Each already checks the grant, so a
//! component that was not granted the capability gets `denied`; a granted
//! one gets `not-available` naming the capability. Never a trap.

use super::grants::Capability;
use super::state::HostState;
use crate::runtime::bindings::imports::ironclaw::host::{channel_host, llm_types, types};
use types::CapabilityError;

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

impl HostState {
    fn not_yet<T>(&self, capability: Capability) -> Answer<T> {
        Ok(Err(match self.check(capability) {
            Err(denied) => denied,
            Ok(()) => CapabilityError::NotAvailable(capability.as_str().to_string()),
        }))
    }
}

impl types::Host for HostState {}
impl llm_types::Host for HostState {}

impl channel_host::Host for HostState {
    async fn emit(&mut self, _message: channel_host::InboundMessage) -> Answer<()> {
        self.not_yet(Capability::ChannelHost)
    }

    async fn emit_and_wait(
        &mut self,
        _message: channel_host::InboundMessage,
        _timeout_ms: u32,
    ) -> Answer<Option<String>> {
        self.not_yet(Capability::ChannelHost)
    }
}
