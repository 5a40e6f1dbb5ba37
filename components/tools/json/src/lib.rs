//! `json`: JSONPath selection (`json_select`, RFC 9535 via serde_json_path)
//! and a list of transformations (`json_transform`).
//!
//! The logic lives in [`logic`] and [`pointer`], which do not touch the SDK
//! bindings and are unit-tested natively
//! (`cargo test --target x86_64-unknown-linux-gnu -p json`). The SDK's
//! `export!` expands to nothing off wasm; the component module is wasm-only
//! as well, so native test builds do not warn about an unused impl.

pub mod logic;
pub mod pointer;

#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::params;
    use ironclaw_sdk::tool::{CallContext, Guest, ToolDescription, ToolError};

    use crate::logic;

    struct Json;

    impl Guest for Json {
        fn describe() -> Vec<ToolDescription> {
            logic::tools()
                .into_iter()
                .map(|t| ToolDescription::new(t.name, t.description, t.schema))
                .collect()
        }

        fn execute(name: String, params: String, _ctx: CallContext) -> Result<String, ToolError> {
            let result = logic::execute(&name, &params).map_err(|e| match e {
                logic::Error::InvalidParams(m) => ToolError::InvalidParams(m),
                logic::Error::UnknownTool(m) => ToolError::UnknownTool(m),
            })?;
            Ok(params::to_json(&result)?)
        }
    }

    ironclaw_sdk::tool::export!(Json);
}
