//! Calling tool components: `describe` and `execute`, each in a fresh store
//! under the component's budgets, each returning a usage record.

use serde::Serialize;

use super::bindings::tool::exports::ironclaw::host::tool as wit;
use super::call::CallSetup;
use super::error::{CallError, CallErrorKind};
use super::usage::Usage;
use super::{LoadedComponent, Runtime};

/// A tool as a component describes it, with its schema parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    pub parameters_schema: serde_json::Value,
    pub requires_approval: bool,
}

/// A successful tool call.
#[derive(Debug, Clone, Serialize)]
pub struct ToolOutput {
    pub output: String,
    pub usage: Usage,
}

/// Identifies a call for the guest's logs and the host's audit.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    pub call_id: String,
    pub user_id: Option<String>,
    pub channel: Option<String>,
    pub thread_id: Option<String>,
}

fn is_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

impl Runtime {
    /// Asks the component which tools it offers; validates names and schemas.
    pub async fn describe(
        &self,
        loaded: &LoadedComponent,
    ) -> (Result<Vec<ToolInfo>, CallError>, Usage) {
        let (result, usage) = self
            .run(loaded, CallSetup::default(), async |store, pre| {
                let instance = pre.tool()?.instantiate_async(&mut *store).await?;
                instance
                    .ironclaw_host_tool()
                    .call_describe(&mut *store)
                    .await
            })
            .await;
        let tools = result.and_then(|described| {
            let mut tools: Vec<ToolInfo> = Vec::with_capacity(described.len());
            for d in described {
                if !is_tool_name(&d.name) {
                    return Err(CallError::new(
                        CallErrorKind::InvalidParams,
                        format!(
                            "tool name `{}` must be 1-64 characters of a-z, 0-9 and '_'",
                            d.name
                        ),
                    ));
                }
                if tools.iter().any(|t| t.name == d.name) {
                    return Err(CallError::new(
                        CallErrorKind::InvalidParams,
                        format!("tool `{}` is described twice", d.name),
                    ));
                }
                let schema: serde_json::Value = serde_json::from_str(&d.parameters_schema)
                    .map_err(|e| {
                        CallError::new(
                            CallErrorKind::InvalidParams,
                            format!("tool `{}` has an invalid parameters schema: {e}", d.name),
                        )
                    })?;
                tools.push(ToolInfo {
                    name: d.name,
                    description: d.description,
                    parameters_schema: schema,
                    requires_approval: d.requires_approval,
                });
            }
            Ok(tools)
        });
        (tools, usage)
    }

    /// Runs one tool call. `params` must be a JSON object.
    pub async fn call_tool(
        &self,
        loaded: &LoadedComponent,
        tool: &str,
        params: &str,
        context: &CallContext,
    ) -> Result<ToolOutput, CallError> {
        if !loaded.tools.iter().any(|t| t.name == tool) {
            return Err(CallError::new(
                CallErrorKind::UnknownTool,
                format!("component `{}` has no tool `{tool}`", loaded.name),
            ));
        }
        match serde_json::from_str::<serde_json::Value>(params) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => {
                return Err(CallError::new(
                    CallErrorKind::InvalidParams,
                    "parameters must be a JSON object",
                ));
            }
            Err(e) => {
                return Err(CallError::new(
                    CallErrorKind::InvalidParams,
                    format!("parameters are not valid JSON: {e}"),
                ));
            }
        }
        let ctx = wit::CallContext {
            call_id: context.call_id.clone(),
            user_id: context.user_id.clone(),
            channel: context.channel.clone(),
            thread_id: context.thread_id.clone(),
        };
        let output_cap = loaded.limits.output_bytes;
        let (result, usage) = self
            .run(loaded, CallSetup::default(), async move |store, pre| {
                let instance = pre.tool()?.instantiate_async(&mut *store).await?;
                instance
                    .ironclaw_host_tool()
                    .call_execute(&mut *store, tool, params, &ctx)
                    .await
            })
            .await;
        match result {
            Ok(Ok(output)) if output.len() > output_cap => Err(CallError::new(
                CallErrorKind::OutputLimit,
                format!(
                    "tool returned {} bytes; the cap is {output_cap}",
                    output.len()
                ),
            )
            .with_usage(usage)),
            Ok(Ok(output)) => Ok(ToolOutput { output, usage }),
            Ok(Err(tool_error)) => Err(from_tool_error(tool_error).with_usage(usage)),
            Err(e) => Err(e.with_usage(usage)),
        }
    }
}

fn from_tool_error(e: wit::ToolError) -> CallError {
    match e {
        wit::ToolError::InvalidParams(m) => CallError::new(CallErrorKind::InvalidParams, m),
        wit::ToolError::UnknownTool(t) => {
            CallError::new(CallErrorKind::UnknownTool, format!("no tool `{t}`"))
        }
        // `denied` names the capability, optionally followed by `: why`
        // (a grant that covers the capability but not this request).
        wit::ToolError::Denied(c) => CallError::new(
            CallErrorKind::Denied,
            match c.split_once(": ") {
                Some((capability, why)) => format!("capability `{capability}` denied: {why}"),
                None => format!("capability `{c}` was not granted"),
            },
        ),
        wit::ToolError::Failed(m) => CallError::new(CallErrorKind::ToolFailed, m),
    }
}
