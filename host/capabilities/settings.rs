//! `config`: the owner's settings for the calling component.

use super::grants::Capability;
use super::state::HostState;
use crate::runtime::bindings::imports::ironclaw::host::config::Host;
use crate::runtime::bindings::imports::ironclaw::host::types::CapabilityError;

impl Host for HostState {
    async fn get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<String>, CapabilityError>> {
        if let Err(denied) = self.check(Capability::Config) {
            return Ok(Err(denied));
        }
        Ok(Ok(self.grants.settings.get(&key).cloned()))
    }
}
