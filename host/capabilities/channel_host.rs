//! `channel-host`: a channel component hands inbound messages to the host.
//! The host side lives in `crate::channels`; this is the seam the runtime
//! calls through, set once the channel hub exists.

use std::time::Duration;

use super::grants::Capability;
use super::state::HostState;
use crate::channels::message::InboundMessage;
use crate::runtime::bindings::imports::ironclaw::host::channel_host;
use crate::runtime::bindings::imports::ironclaw::host::types::CapabilityError;

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

/// Where emitted messages go (the channel hub).
#[async_trait::async_trait]
pub trait ChannelSink: Send + Sync {
    async fn emit(&self, channel: &str, message: InboundMessage) -> Result<(), CapabilityError>;
    async fn emit_and_wait(
        &self,
        channel: &str,
        message: InboundMessage,
        timeout: Duration,
    ) -> Result<Option<String>, CapabilityError>;
}

impl HostState {
    fn channel_sink(&self) -> Result<std::sync::Arc<dyn ChannelSink>, CapabilityError> {
        self.check(Capability::ChannelHost)?;
        self.services.channels.get().cloned().ok_or_else(|| {
            CapabilityError::NotAvailable(
                "channel-host: this host runs no channels (`ironclaw run` does)".into(),
            )
        })
    }
}

impl channel_host::Host for HostState {
    async fn emit(&mut self, message: channel_host::InboundMessage) -> Answer<()> {
        let sink = match self.channel_sink() {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        Ok(sink.emit(&self.component, message.into()).await)
    }

    async fn emit_and_wait(
        &mut self,
        message: channel_host::InboundMessage,
        timeout_ms: u32,
    ) -> Answer<Option<String>> {
        let sink = match self.channel_sink() {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        Ok(sink
            .emit_and_wait(&self.component, message.into(), timeout)
            .await)
    }
}
