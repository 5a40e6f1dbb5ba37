//! Guest SDK for IronClaw components.
//!
//! Enable exactly one kind feature (`tool`, `channel`, `llm-adapter`,
//! `safety-filter`, `hook`) and implement that kind's `Guest` trait:
//!
//! ```text
//! use ironclaw_sdk::tool::{CallContext, Guest, ToolDescription, ToolError};
//!
//! struct Echo;
//! impl Guest for Echo {
//!     fn describe() -> Vec<ToolDescription> { /* ... */ }
//!     fn execute(name: String, params: String, ctx: CallContext) -> Result<String, ToolError> { /* ... */ }
//! }
//! ironclaw_sdk::tool::export!(Echo);
//! ```
//!
//! Builds with plain `cargo build --target wasm32-wasip2` (rustc links the
//! component directly) and with `cargo component build`.

pub mod bindings;
pub mod error;
pub mod http;
pub mod log;
pub mod params;
pub mod settings;
pub mod sse;

#[cfg(feature = "channel")]
pub mod channel;
#[cfg(feature = "hook")]
pub mod hook;
#[cfg(feature = "llm-adapter")]
pub mod llm_adapter;
#[cfg(feature = "safety-filter")]
pub mod safety_filter;
#[cfg(feature = "tool")]
pub mod tool;

pub use bindings::ironclaw::host::{
    channel_host, config, db, llm, llm_stream, llm_types, logging, memory, secrets, types,
};
pub use bindings::wasi;
pub use error::CapabilityError;
