//! Calling safety filter components: `stages` (once, as the load's smoke
//! test) and `inspect`, each in a fresh store under the filter's budgets.
//!
//! The host's own types mirror the WIT ones so that the agent never
//! depends on generated bindings.

use serde::Serialize;

use super::bindings::safety_filter::exports::ironclaw::host::safety as wit;
use super::call::CallSetup;
use super::error::{CallError, CallErrorKind};
use super::usage::Usage;
use super::{LoadedComponent, Runtime};

/// Where in a message's path content is shown to a filter (DESIGN §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    InboundMessage,
    ToolOutput,
    OutboundResponse,
    OutboundHttpBody,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::InboundMessage => "inbound-message",
            Stage::ToolOutput => "tool-output",
            Stage::OutboundResponse => "outbound-response",
            Stage::OutboundHttpBody => "outbound-http-body",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<wit::Stage> for Stage {
    fn from(s: wit::Stage) -> Stage {
        match s {
            wit::Stage::InboundMessage => Stage::InboundMessage,
            wit::Stage::ToolOutput => Stage::ToolOutput,
            wit::Stage::OutboundResponse => Stage::OutboundResponse,
            wit::Stage::OutboundHttpBody => Stage::OutboundHttpBody,
        }
    }
}

impl From<Stage> for wit::Stage {
    fn from(s: Stage) -> wit::Stage {
        match s {
            Stage::InboundMessage => wit::Stage::InboundMessage,
            Stage::ToolOutput => wit::Stage::ToolOutput,
            Stage::OutboundResponse => wit::Stage::OutboundResponse,
            Stage::OutboundHttpBody => wit::Stage::OutboundHttpBody,
        }
    }
}

/// Who and what the content concerns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InspectionContext {
    pub channel: Option<String>,
    pub user_id: Option<String>,
    pub tool_name: Option<String>,
    /// Host of an outbound HTTP request.
    pub destination: Option<String>,
}

/// A filter's judgement of one piece of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Let it through, but say why it looks wrong.
    Warn(String),
    /// Let this replacement through instead.
    Redact(String),
    /// Stop it, for this reason.
    Block(String),
}

impl From<wit::Verdict> for Verdict {
    fn from(v: wit::Verdict) -> Verdict {
        match v {
            wit::Verdict::Allow => Verdict::Allow,
            wit::Verdict::Warn(why) => Verdict::Warn(why),
            wit::Verdict::Redact(with) => Verdict::Redact(with),
            wit::Verdict::Block(why) => Verdict::Block(why),
        }
    }
}

/// Why a filter or hook gave no usable answer: the call failed (a trap, a
/// spent budget, an oversized answer), or the guest reported an error of
/// its own through its interface.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JudgeError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("reported an error: {0}")]
    Reported(String),
}

impl Runtime {
    /// The stages a filter asks to see (deduplicated, in its order).
    pub async fn filter_stages(
        &self,
        loaded: &LoadedComponent,
    ) -> (Result<Vec<Stage>, CallError>, Usage) {
        let (result, usage) = self
            .run(loaded, CallSetup::default(), async |store, pre| {
                let instance = pre.safety_filter()?.instantiate_async(&mut *store).await?;
                instance
                    .ironclaw_host_safety()
                    .call_stages(&mut *store)
                    .await
            })
            .await;
        let stages = result.map(|stages| {
            let mut seen: Vec<Stage> = Vec::with_capacity(stages.len());
            for s in stages.into_iter().map(Stage::from) {
                if !seen.contains(&s) {
                    seen.push(s);
                }
            }
            seen
        });
        (stages, usage)
    }

    /// Shows `content` to the filter at `stage`. A replacement larger than
    /// the component's output cap is refused like an oversized tool result.
    pub async fn inspect(
        &self,
        loaded: &LoadedComponent,
        stage: Stage,
        content: &str,
        context: &InspectionContext,
    ) -> (Result<Verdict, JudgeError>, Usage) {
        let ctx = wit::InspectionContext {
            channel: context.channel.clone(),
            user_id: context.user_id.clone(),
            tool_name: context.tool_name.clone(),
            destination: context.destination.clone(),
        };
        let (result, usage) = self
            .run(loaded, CallSetup::default(), async move |store, pre| {
                let instance = pre.safety_filter()?.instantiate_async(&mut *store).await?;
                instance
                    .ironclaw_host_safety()
                    .call_inspect(&mut *store, stage.into(), content, &ctx)
                    .await
            })
            .await;
        let verdict = match result {
            Ok(Ok(wit::Verdict::Redact(with))) if with.len() > loaded.limits.output_bytes => Err(
                JudgeError::Call(oversized(loaded, with.len()).with_usage(usage)),
            ),
            Ok(Ok(v)) => Ok(v.into()),
            Ok(Err(reported)) => Err(JudgeError::Reported(reported)),
            Err(e) => Err(JudgeError::Call(e.with_usage(usage))),
        };
        (verdict, usage)
    }
}

/// A replacement (a redaction, a hook's modification) over the cap.
pub(crate) fn oversized(loaded: &LoadedComponent, len: usize) -> CallError {
    CallError::new(
        CallErrorKind::OutputLimit,
        format!(
            "component returned {len} bytes; the cap is {}",
            loaded.limits.output_bytes
        ),
    )
}
