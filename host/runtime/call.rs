//! One call into a component, whatever its kind: a fresh store under the
//! component's four budgets (fuel, memory, epoch deadline, and a tokio
//! timeout so time spent waiting on the host counts), measured.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::Store;

use super::bindings::channel::ChannelComponentPre;
use super::bindings::hook::HookComponentPre;
use super::bindings::llm_adapter::LlmAdapterComponentPre;
use super::bindings::safety_filter::SafetyFilterComponentPre;
use super::bindings::tool::ToolComponentPre;
use super::error::{CallError, CallErrorKind, classify};
use super::usage::Usage;
use super::{LoadedComponent, Runtime, TIMEOUT_GRACE};
use crate::capabilities::{Grants, HostState};
use crate::llm::StreamSink;

/// A loaded component's pre-linked instance, by kind.
pub(crate) enum KindPre {
    Tool(ToolComponentPre<HostState>),
    LlmAdapter(LlmAdapterComponentPre<HostState>),
    SafetyFilter(SafetyFilterComponentPre<HostState>),
    Hook(HookComponentPre<HostState>),
    Channel(ChannelComponentPre<HostState>),
}

impl KindPre {
    pub(crate) fn tool(&self) -> wasmtime::Result<&ToolComponentPre<HostState>> {
        match self {
            KindPre::Tool(pre) => Ok(pre),
            _ => Err(wasmtime::format_err!("this component is not a tool")),
        }
    }

    pub(crate) fn llm_adapter(&self) -> wasmtime::Result<&LlmAdapterComponentPre<HostState>> {
        match self {
            KindPre::LlmAdapter(pre) => Ok(pre),
            _ => Err(wasmtime::format_err!(
                "this component is not an LLM adapter"
            )),
        }
    }

    pub(crate) fn safety_filter(&self) -> wasmtime::Result<&SafetyFilterComponentPre<HostState>> {
        match self {
            KindPre::SafetyFilter(pre) => Ok(pre),
            _ => Err(wasmtime::format_err!(
                "this component is not a safety filter"
            )),
        }
    }

    pub(crate) fn channel(&self) -> wasmtime::Result<&ChannelComponentPre<HostState>> {
        match self {
            KindPre::Channel(pre) => Ok(pre),
            _ => Err(wasmtime::format_err!("this component is not a channel")),
        }
    }

    pub(crate) fn hook(&self) -> wasmtime::Result<&HookComponentPre<HostState>> {
        match self {
            KindPre::Hook(pre) => Ok(pre),
            _ => Err(wasmtime::format_err!("this component is not a hook")),
        }
    }
}

/// What a call may differ in from the component's defaults.
#[derive(Default)]
pub(crate) struct CallSetup {
    /// Replaces the component's grant for this call (an LLM adapter's grant
    /// follows the base URL the owner configured).
    pub grants: Option<Arc<Grants>>,
    /// Where `llm-stream.chunk` delivers text.
    pub stream: Option<StreamSink>,
}

impl Runtime {
    /// Runs `f` in a fresh store under the component's budgets, with the
    /// tokio timeout around everything (host waits count), and measures it.
    pub(crate) async fn run<R>(
        &self,
        loaded: &LoadedComponent,
        setup: CallSetup,
        f: impl AsyncFnOnce(&mut Store<HostState>, &KindPre) -> wasmtime::Result<R>,
    ) -> (Result<R, CallError>, Usage) {
        let started = Instant::now();
        let mut store = self.new_store(loaded, setup);
        let deadline = loaded.limits.wall + TIMEOUT_GRACE;
        let outcome = tokio::time::timeout(deadline, f(&mut store, &loaded.pre)).await;
        if matches!(outcome, Ok(Ok(_))) {
            store.data_mut().finish_stream();
        }
        let wall = started.elapsed();
        let state = store.data();
        let usage = Usage {
            fuel_used: loaded
                .limits
                .fuel
                .saturating_sub(store.get_fuel().unwrap_or(0)),
            wall_time_us: wall,
            peak_memory_bytes: state.limiter.peak_memory(),
            log_lines: state.log.accepted,
            log_lines_refused: state.log.refused,
        };
        let result = match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(&e, state, &loaded.limits)),
            Err(_elapsed) => Err(CallError::new(
                CallErrorKind::Timeout,
                format!(
                    "call exceeded its {} ms wall-clock budget while waiting on the host",
                    loaded.limits.wall.as_millis()
                ),
            )),
        };
        (result, usage)
    }

    /// A fresh store with the call's budgets: fuel, memory and tables
    /// (limiter), and the epoch deadline.
    fn new_store(&self, loaded: &LoadedComponent, setup: CallSetup) -> Store<HostState> {
        let mut state = HostState::new(
            loaded.caller.clone(),
            setup.grants.unwrap_or_else(|| loaded.grants.clone()),
            &loaded.limits,
            &self.settings,
            loaded.log_rate.clone(),
            self.services.clone(),
        );
        state.stream = setup.stream;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Fuel is always enabled on this engine, so this cannot fail.
        let _ = store.set_fuel(loaded.limits.fuel);
        store.set_epoch_deadline(self.epoch_ticks(loaded.limits.wall));
        store.epoch_deadline_trap();
        store
    }
}
