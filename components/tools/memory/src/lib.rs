//! `memory`: the owner's workspace memory as four tools — `memory_search`,
//! `memory_read`, `memory_write` (replace or append) and `memory_tree` —
//! served by the host's `memory` capability, within the paths the
//! component's grant names (see `component.toml`).
//!
//! The logic lives in [`logic`], written against the small [`logic::Workspace`]
//! trait so that it is unit-tested natively
//! (`cargo test --target x86_64-unknown-linux-gnu -p memory`) with an
//! in-memory workspace; the component below implements the trait with the
//! host's imports. The SDK's `export!` expands to nothing off wasm, and the
//! component module is wasm-only as well.

pub mod logic;

#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::CapabilityError;
    use ironclaw_sdk::memory::{self, Document, SearchHit};
    use ironclaw_sdk::params;
    use ironclaw_sdk::tool::{CallContext, Guest, ToolDescription, ToolError};

    use crate::logic::{self, Workspace};

    /// The host's `memory` import.
    struct HostWorkspace;

    impl Workspace for HostWorkspace {
        fn read(&self, path: &str) -> Result<Option<Document>, CapabilityError> {
            memory::read(path)
        }
        fn write(&self, path: &str, content: &str) -> Result<(), CapabilityError> {
            memory::write(path, content)
        }
        fn tree(&self, prefix: &str) -> Result<Vec<String>, CapabilityError> {
            memory::tree(prefix)
        }
        fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>, CapabilityError> {
            memory::search(query, limit)
        }
    }

    struct Memory;

    impl Guest for Memory {
        fn describe() -> Vec<ToolDescription> {
            logic::tools()
                .into_iter()
                .map(|t| ToolDescription::new(t.name, t.description, t.schema))
                .collect()
        }

        fn execute(name: String, params: String, _ctx: CallContext) -> Result<String, ToolError> {
            let result = logic::execute(&name, &params, &HostWorkspace)?;
            Ok(params::to_json(&result)?)
        }
    }

    ironclaw_sdk::tool::export!(Memory);
}
