//! `echo`: returns `{"text": …}` unchanged.

use ironclaw_sdk::params;
use ironclaw_sdk::tool::{CallContext, Guest, ToolDescription, ToolError};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Params {
    text: String,
}

struct Echo;

impl Guest for Echo {
    fn describe() -> Vec<ToolDescription> {
        vec![ToolDescription::new(
            "echo",
            "Returns the given text unchanged.",
            serde_json::json!({
                "type": "object",
                "properties": { "text": { "type": "string", "description": "Text to echo back" } },
                "required": ["text"],
                "additionalProperties": false
            }),
        )]
    }

    fn execute(name: String, params: String, _ctx: CallContext) -> Result<String, ToolError> {
        if name != "echo" {
            return Err(ToolError::UnknownTool(name));
        }
        let p: Params = params::parse(&params)?;
        Ok(params::to_json(&p)?)
    }
}

ironclaw_sdk::tool::export!(Echo);

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CallContext {
        CallContext {
            call_id: "t".into(),
            user_id: None,
            channel: None,
            thread_id: None,
        }
    }

    #[test]
    fn echoes_and_refuses_unknown_fields() {
        let out = Echo::execute("echo".into(), r#"{"text":"hi"}"#.into(), ctx());
        assert!(matches!(out.as_deref(), Ok(r#"{"text":"hi"}"#)));
        let err = Echo::execute("echo".into(), r#"{"txt":"hi"}"#.into(), ctx());
        assert!(matches!(err, Err(ToolError::InvalidParams(_))));
        assert_eq!(Echo::describe()[0].name, "echo");
    }
}
