//! The `tool-component` world: export `describe` and `execute`.

pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "ironclaw:host/tool-component",
        with: {
            "ironclaw:host/types@0.1.0": crate::bindings::ironclaw::host::types,
            "ironclaw:host/logging@0.1.0": crate::bindings::ironclaw::host::logging,
            "ironclaw:host/config@0.1.0": crate::bindings::ironclaw::host::config,
            "ironclaw:host/secrets@0.1.0": crate::bindings::ironclaw::host::secrets,
            "ironclaw:host/db@0.1.0": crate::bindings::ironclaw::host::db,
            "ironclaw:host/memory@0.1.0": crate::bindings::ironclaw::host::memory,
            "ironclaw:host/llm-types@0.1.0": crate::bindings::ironclaw::host::llm_types,
            "ironclaw:host/llm@0.1.0": crate::bindings::ironclaw::host::llm,
            "wasi:http/types@0.2.12": crate::bindings::wasi::http::types,
            "wasi:http/outgoing-handler@0.2.12": crate::bindings::wasi::http::outgoing_handler,
            "wasi:io/error@0.2.12": crate::bindings::wasi::io::error,
            "wasi:io/poll@0.2.12": crate::bindings::wasi::io::poll,
            "wasi:io/streams@0.2.12": crate::bindings::wasi::io::streams,
            "wasi:clocks/monotonic-clock@0.2.12": crate::bindings::wasi::clocks::monotonic_clock,
        },
        pub_export_macro: true,
        export_macro_name: "export_tool",
        default_bindings_module: "ironclaw_sdk::tool::bindings",
        runtime_path: "::wit_bindgen::rt",
    });
}

pub use bindings::exports::ironclaw::host::tool::{CallContext, Guest, ToolDescription, ToolError};

use crate::error::CapabilityError;
use crate::params::ParamsError;

impl ToolDescription {
    /// A tool that runs without asking the owner first.
    pub fn new(name: &str, description: &str, parameters_schema: serde_json::Value) -> Self {
        ToolDescription {
            name: name.to_string(),
            description: description.to_string(),
            parameters_schema: parameters_schema.to_string(),
            requires_approval: false,
        }
    }

    /// Marks the tool as needing the owner's approval for each call.
    pub fn requiring_approval(mut self) -> Self {
        self.requires_approval = true;
        self
    }
}

impl From<ParamsError> for ToolError {
    fn from(e: ParamsError) -> Self {
        ToolError::InvalidParams(e.0)
    }
}

impl From<CapabilityError> for ToolError {
    fn from(e: CapabilityError) -> Self {
        match e {
            CapabilityError::Denied(capability) => ToolError::Denied(capability),
            other => ToolError::Failed(other.describe()),
        }
    }
}

/// `export!(MyType)` exports `MyType` as this component's implementation.
/// Off wasm it expands to nothing, so a component's logic can be unit-tested
/// natively (`cargo test --target <host triple>`).
#[doc(hidden)]
#[macro_export]
macro_rules! __ironclaw_export_tool {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::tool::bindings::export_tool!($ty with_types_in $crate::tool::bindings);
    };
}
pub use __ironclaw_export_tool as export;
