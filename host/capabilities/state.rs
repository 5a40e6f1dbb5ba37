//! The data of one call's `Store`: a fresh one per call (DESIGN §4).

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::grants::{Capability, Grants};
use super::guest_log::{GuestLog, LogRate};
use super::http_outbound::HttpPolicy;
use super::services::{Caller, HostServices};
use super::stdio::CappedPipe;
use crate::config::GuestLoggingConfig;
use crate::runtime::bindings::imports::ironclaw::host::types::CapabilityError;
use crate::runtime::limits::{CallLimiter, Limits};

/// Host settings that shape every call's state.
#[derive(Debug, Clone)]
pub struct CallSettings {
    pub stdio_bytes: usize,
    pub logging: GuestLoggingConfig,
}

pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    http_policy: HttpPolicy,
    pub(crate) limiter: CallLimiter,
    pub(crate) grants: Arc<Grants>,
    pub(crate) component: Arc<str>,
    pub(crate) log: GuestLog,
    pub(crate) stdout: CappedPipe,
    pub(crate) stderr: CappedPipe,
    /// Who is calling (name, version, digest), for audit records.
    pub(crate) caller: Arc<Caller>,
    /// The stores and services the runtime lends to calls; the grant still
    /// decides what a component may do with each.
    pub(crate) services: HostServices,
    /// Where an LLM adapter's `llm-stream.chunk` text goes in this call.
    pub(crate) stream: Option<crate::llm::StreamSink>,
    /// Holds back streamed text that may be part of a secret still arriving.
    pub(crate) stream_guard: super::stream_guard::StreamGuard,
}

impl HostState {
    pub fn new(
        caller: Arc<Caller>,
        grants: Arc<Grants>,
        limits: &Limits,
        settings: &CallSettings,
        log_rate: Arc<LogRate>,
        services: HostServices,
    ) -> HostState {
        let component = caller.name.clone();
        let stdout = CappedPipe::new("stdout", settings.stdio_bytes);
        let stderr = CappedPipe::new("stderr", settings.stdio_bytes);
        // No environment, arguments, preopened directories, sockets or name
        // lookups: a guest reaches the world only through host capabilities.
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            http_policy: HttpPolicy::new(caller.clone(), grants.clone(), services.clone()),
            limiter: CallLimiter::new(limits),
            log: GuestLog::new(component.clone(), settings.logging.clone(), log_rate),
            grants,
            component,
            stdout,
            stderr,
            caller,
            services,
            stream: None,
            stream_guard: Default::default(),
        }
    }

    /// `Ok` when granted, else the typed refusal the guest receives.
    pub(crate) fn check(&self, capability: Capability) -> Result<(), CapabilityError> {
        if self.grants.allows(capability) {
            Ok(())
        } else {
            tracing::debug!(component = %self.component, %capability, "capability denied");
            Err(CapabilityError::Denied(capability.as_str().to_string()))
        }
    }

    pub(crate) fn stdio_overflowed(&self) -> bool {
        self.stdout.overflowed() || self.stderr.overflowed()
    }

    pub(crate) fn stdout_limit(&self) -> usize {
        self.stdout.limit()
    }

    /// What the guest said on stderr before it stopped, shortened for an
    /// error report: a Rust panic's location and message when there is one,
    /// else the last line that is not a hint.
    pub(crate) fn last_stderr_line(&self) -> Option<String> {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let said = match lines.iter().rposition(|l| l.contains("panicked at")) {
            Some(i) => lines[i..]
                .iter()
                .take(2)
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
            None => (*lines.iter().rev().find(|l| !l.starts_with("note:"))?).to_string(),
        };
        Some(said.chars().take(300).collect())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_policy,
        }
    }
}
