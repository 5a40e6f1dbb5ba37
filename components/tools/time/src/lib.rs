//! `time`: the current time, strftime formatting and time-zone conversion
//! (`time_now`, `time_format`, `time_convert`), with the IANA tz database
//! compiled in.
//!
//! The logic lives in [`logic`], which does not touch the SDK bindings and is
//! unit-tested natively (`cargo test --target x86_64-unknown-linux-gnu -p time`).
//! The SDK's `export!` expands to nothing off wasm; the component module is
//! wasm-only as well, so native test builds do not warn about an unused impl.

pub mod logic;

#[cfg(target_arch = "wasm32")]
mod component {
    use std::time::SystemTime;

    use ironclaw_sdk::params;
    use ironclaw_sdk::tool::{CallContext, Guest, ToolDescription, ToolError};

    use crate::logic;

    struct Time;

    impl Guest for Time {
        fn describe() -> Vec<ToolDescription> {
            logic::tools()
                .into_iter()
                .map(|t| ToolDescription::new(t.name, t.description, t.schema))
                .collect()
        }

        fn execute(name: String, params: String, _ctx: CallContext) -> Result<String, ToolError> {
            let now = logic::now_from(SystemTime::now()).map_err(tool_error)?;
            let result = logic::execute(&name, &params, now).map_err(tool_error)?;
            Ok(params::to_json(&result)?)
        }
    }

    fn tool_error(e: logic::Error) -> ToolError {
        match e {
            logic::Error::InvalidParams(m) => ToolError::InvalidParams(m),
            logic::Error::UnknownTool(m) => ToolError::UnknownTool(m),
            logic::Error::Failed(m) => ToolError::Failed(m),
        }
    }

    ironclaw_sdk::tool::export!(Time);
}
