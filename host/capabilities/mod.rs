//! Host capabilities ("factors"): per-call state, grants, and one module per
//! host interface. Each import checks the grant first.

pub mod audit;
pub mod channel_host;
mod db;
pub mod escalation;
pub mod grants;
pub mod guest_log;
pub mod http_outbound;
pub mod live_secrets;
mod llm;
mod memory;
pub mod memory_scope;
pub mod services;
mod settings;
pub mod state;
pub mod stdio;
pub mod stream_guard;
mod unavailable;

pub use grants::{Capability, Grants};
pub use services::{Caller, HostServices, HttpBodyScreen};
pub use state::{CallSettings, HostState};

use wasmtime::component::{HasSelf, Linker};

use crate::runtime::bindings::imports::ironclaw::host as wit;

/// Adds WASI (locked down per call), mediated wasi:http and every
/// `ironclaw:host` interface to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    wit::logging::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    wit::config::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    wit::secrets::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    wit::db::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    wit::memory::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    wit::llm::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    wit::channel_host::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    wit::llm_stream::add_to_linker::<_, HasSelf<HostState>>(linker, |s| s)?;
    Ok(())
}
