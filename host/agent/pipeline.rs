//! The points on a message's path (DESIGN §6) where installed safety
//! filters and hooks are called:
//!
//! - a conversation's first turn (or first after `/clear`): `session-start`
//!   hooks (told, cannot stop it);
//! - `/clear` or `/thread new`: `session-end` hooks on the conversation left;
//! - the user's text, before it is persisted: `before-inbound` hooks, then
//!   `inbound-message` filters;
//! - each tool call, after the approval gate: `before-tool-call` hooks
//!   (change the parameters, or reject: the tool never runs);
//! - each tool's output, before the floor wraps it: `tool-output` filters;
//! - the final answer: `transform-response` hooks, `outbound-response`
//!   filters, then `before-outbound` hooks; the floor's secret scrub runs
//!   again on whatever they produced.
//!
//! The pipeline is rebuilt from the live set at each point, so a filter
//! swapped in while the host runs applies from the next message on.
//! Filters run in the owner's `[safety] order`, then by name; hooks by
//! priority (lower first), then by name. `[safety] disabled` ones never run.
//!
//! Failure policy: a filter that traps, runs out of a budget or reports an
//! error blocks (fails closed) — a broken filter must not open the gate it
//! guards — unless the owner lists it in `[safety] fail-open`. A hook that
//! fails is skipped: hooks customise, they do not guard. Every failure is
//! logged and audited (`safety.filter-failed`, `hook.failed`).

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::json;

use super::safety::SafetyConfig;
use super::tools::ToolResult;
use super::{Agent, AgentError, floor};
use crate::llm::ToolCall;
use crate::runtime::hook::{EventKind, HookEvent, HookResult, Modification};
use crate::runtime::safety::{InspectionContext, Stage, Verdict};
use crate::runtime::{LoadedComponent, Runtime};
use crate::store::domains::Conversation;

/// Why content did not go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stopped {
    #[error("blocked by safety filter `{filter}`: {reason}")]
    Blocked { filter: String, reason: String },
    #[error("safety filter `{filter}` failed, and a failing filter blocks: {error}")]
    FilterFailed { filter: String, error: String },
    #[error("rejected by hook `{hook}`: {reason}")]
    Rejected { hook: String, reason: String },
}

/// The user's text after the inbound point: go on with it, or answer with
/// this notice instead (nothing persisted, nothing sent to the model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Screened {
    Pass(String),
    Stop(String),
}

/// One filter's verdict in a traced run: `Err((error, fails_open))` when
/// it gave none.
#[derive(Debug, Clone)]
pub struct Step {
    pub filter: String,
    pub outcome: Result<Verdict, (String, bool)>,
    /// Wall time of the call, instantiation included.
    pub micros: u64,
}

/// The filters and hooks serving at one moment, in the order they run.
pub struct Pipeline {
    runtime: Arc<Runtime>,
    filters: Vec<Arc<LoadedComponent>>,
    hooks: Vec<Arc<LoadedComponent>>,
    /// Filters whose failure lets content through.
    fail_open: Vec<String>,
}

/// Where a filter runs: named in `order` first (in that order), then the
/// rest by name.
fn filter_key<'a>(name: &'a str, order: &[String]) -> (usize, &'a str) {
    let at = order.iter().position(|n| n == name).unwrap_or(order.len());
    (at, name)
}

fn hook_key(name: &str, priority: i32) -> (i32, &str) {
    (priority, name)
}

fn is_json_object(text: &str) -> bool {
    matches!(
        serde_json::from_str::<serde_json::Value>(text),
        Ok(serde_json::Value::Object(_))
    )
}

impl Pipeline {
    /// Picks the enabled filters and hooks out of `components`, ordered.
    pub fn new(
        runtime: Arc<Runtime>,
        components: Vec<Arc<LoadedComponent>>,
        config: &SafetyConfig,
    ) -> Pipeline {
        let (mut filters, mut hooks): (Vec<_>, Vec<_>) = components
            .into_iter()
            // A hook subscribed to nothing (unconfigured) is never called.
            .filter(|c| {
                !c.stages.is_empty() || c.hook.as_ref().is_some_and(|r| !r.events.is_empty())
            })
            .filter(|c| !config.is_disabled(&c.name))
            .partition(|c| !c.stages.is_empty());
        let order = &config.order;
        filters.sort_by(|a, b| filter_key(&a.name, order).cmp(&filter_key(&b.name, order)));
        let priority = |c: &LoadedComponent| c.hook.as_ref().map_or(0, |r| r.priority);
        hooks.sort_by(|a, b| hook_key(&a.name, priority(a)).cmp(&hook_key(&b.name, priority(b))));
        Pipeline {
            runtime,
            filters,
            hooks,
            fail_open: config.fail_open.clone(),
        }
    }

    /// Every enabled filter, in the order they run.
    pub fn filters(&self) -> &[Arc<LoadedComponent>] {
        &self.filters
    }

    /// Every enabled hook, in the order they run.
    pub fn hooks_in_order(&self) -> &[Arc<LoadedComponent>] {
        &self.hooks
    }

    /// The filters at `stage`, in the order they run.
    pub fn filters_for(&self, stage: Stage) -> Vec<Arc<LoadedComponent>> {
        self.filters_at(stage).cloned().collect()
    }

    /// The hooks for `kind`, in the order they run.
    pub fn hooks_subscribed(&self, kind: EventKind) -> Vec<Arc<LoadedComponent>> {
        self.hooks_for(kind).cloned().collect()
    }

    /// Whether any filter looks at `stage`.
    pub fn screens(&self, stage: Stage) -> bool {
        self.filters_at(stage).next().is_some()
    }

    fn filters_at(&self, stage: Stage) -> impl Iterator<Item = &Arc<LoadedComponent>> {
        self.filters
            .iter()
            .filter(move |f| f.stages.contains(&stage))
    }

    fn hooks_for(&self, kind: EventKind) -> impl Iterator<Item = &Arc<LoadedComponent>> {
        self.hooks
            .iter()
            .filter(move |h| h.hook.as_ref().is_some_and(|r| r.wants(kind)))
    }

    /// Whether the final answer may still change after the model wrote it;
    /// then it must not be streamed to the user as it arrives.
    pub fn holds_answer(&self) -> bool {
        self.filters_at(Stage::OutboundResponse).next().is_some()
            || self
                .hooks_for(EventKind::TransformResponse)
                .next()
                .is_some()
            || self.hooks_for(EventKind::BeforeOutbound).next().is_some()
    }

    /// Shows `content` to every filter at `stage`, in order; a redaction is
    /// what the next filter sees.
    pub async fn filter(
        &self,
        stage: Stage,
        content: String,
        context: &InspectionContext,
    ) -> Result<String, Stopped> {
        self.filter_traced(stage, content, context, None).await
    }

    /// [`Pipeline::filter`], recording each filter's verdict in `trace`
    /// (for `ironclaw safety test`).
    pub async fn filter_traced(
        &self,
        stage: Stage,
        mut content: String,
        context: &InspectionContext,
        mut trace: Option<&mut Vec<Step>>,
    ) -> Result<String, Stopped> {
        for filter in self.filters_at(stage) {
            let (verdict, usage) = self.runtime.inspect(filter, stage, &content, context).await;
            let outcome = match verdict {
                Ok(v) => Ok(v),
                Err(error) => Err((
                    error.to_string(),
                    self.fail_open.iter().any(|n| **n == *filter.name),
                )),
            };
            if let Some(trace) = trace.as_deref_mut() {
                trace.push(Step {
                    filter: filter.name.to_string(),
                    outcome: outcome.clone(),
                    micros: u64::try_from(usage.wall_time_us.as_micros()).unwrap_or(u64::MAX),
                });
            }
            match outcome {
                Ok(Verdict::Allow) => {}
                Ok(Verdict::Warn(reason)) => {
                    tracing::warn!(filter = %filter.name, %stage, %reason, "safety filter warns");
                }
                Ok(Verdict::Redact(replacement)) => {
                    tracing::info!(filter = %filter.name, %stage, "safety filter redacted content");
                    content = replacement;
                }
                Ok(Verdict::Block(reason)) => {
                    tracing::warn!(filter = %filter.name, %stage, %reason, "safety filter blocked content");
                    return Err(Stopped::Blocked {
                        filter: filter.name.to_string(),
                        reason,
                    });
                }
                Err((error, open)) => {
                    self.runtime.services().audit.record(
                        &filter.caller,
                        "safety.filter-failed",
                        json!({ "stage": stage.as_str(), "error": &error, "failed-open": open }),
                    );
                    if open {
                        tracing::warn!(filter = %filter.name, %stage, %error, "safety filter failed; the owner lets it fail open");
                        continue;
                    }
                    tracing::warn!(filter = %filter.name, %stage, %error, "safety filter failed; blocking");
                    return Err(Stopped::FilterFailed {
                        filter: filter.name.to_string(),
                        error,
                    });
                }
            }
        }
        Ok(content)
    }

    /// Runs the hooks subscribed to `event.kind`, in order; each sees the
    /// event as the one before left it. A rejection stops the rest.
    pub async fn hooks(&self, mut event: HookEvent) -> Result<HookEvent, Stopped> {
        for hook in self.hooks_for(event.kind) {
            let (result, _usage) = self.runtime.hook_event(hook, &event).await;
            let kind = event.kind;
            match result {
                Ok(HookResult::Continue) => {}
                Ok(HookResult::Modify(Modification::Content(c))) if event.content.is_some() => {
                    event.content = Some(c);
                }
                Ok(HookResult::Modify(Modification::Params(p))) if event.tool_params.is_some() => {
                    if is_json_object(&p) {
                        event.tool_params = Some(p);
                    } else {
                        tracing::warn!(hook = %hook.name, %kind, "hook returned parameters that are not a JSON object; skipped");
                    }
                }
                Ok(HookResult::Modify(_)) => {
                    tracing::warn!(hook = %hook.name, %kind, "hook modified something this event does not carry; skipped");
                }
                Ok(HookResult::Reject(reason)) => {
                    tracing::info!(hook = %hook.name, %kind, %reason, "hook rejected");
                    return Err(Stopped::Rejected {
                        hook: hook.name.to_string(),
                        reason,
                    });
                }
                Err(error) => {
                    self.runtime.services().audit.record(
                        &hook.caller,
                        "hook.failed",
                        json!({ "event": kind.as_str(), "error": error.to_string() }),
                    );
                    tracing::warn!(hook = %hook.name, %kind, %error, "hook failed; skipped");
                }
            }
        }
        Ok(event)
    }

    /// `before-tool-call` hooks: the call to run (parameters maybe
    /// changed), or why it must not run.
    pub async fn before_tool_call<'c>(
        &self,
        conversation: &Conversation,
        call: &'c ToolCall,
    ) -> Result<Cow<'c, ToolCall>, Stopped> {
        if self.hooks_for(EventKind::BeforeToolCall).next().is_none() {
            return Ok(Cow::Borrowed(call));
        }
        let mut event = event(EventKind::BeforeToolCall, conversation, None);
        event.tool_name = Some(call.name.clone());
        // Models sometimes send "" for a tool without parameters.
        let sent = if call.arguments.trim().is_empty() {
            "{}"
        } else {
            call.arguments.as_str()
        };
        event.tool_params = Some(sent.to_string());
        let event = self.hooks(event).await?;
        match event.tool_params {
            Some(p) if p != sent => Ok(Cow::Owned(ToolCall {
                arguments: p,
                ..call.clone()
            })),
            _ => Ok(Cow::Borrowed(call)),
        }
    }

    /// `tool-output` filters on a tool's result (success or error: both
    /// carry outside text). A block replaces the output with the reason.
    pub async fn tool_output(
        &self,
        conversation: &Conversation,
        tool: &str,
        mut result: ToolResult,
    ) -> ToolResult {
        if self.filters_at(Stage::ToolOutput).next().is_none() {
            return result;
        }
        let mut context = inspection(conversation);
        context.tool_name = Some(tool.to_string());
        let output = std::mem::take(&mut result.output);
        match self.filter(Stage::ToolOutput, output, &context).await {
            Ok(output) => result.output = output,
            Err(stopped) => {
                result.output = stopped.to_string();
                result.is_error = true;
            }
        }
        result
    }
}

fn inspection(conversation: &Conversation) -> InspectionContext {
    InspectionContext {
        channel: Some(conversation.channel.clone()),
        user_id: Some(conversation.user_id.clone()),
        ..InspectionContext::default()
    }
}

/// An event about `conversation`. Its thread id is the host's conversation
/// id, so a hook can tell sessions apart even on channels without threads.
fn event(kind: EventKind, conversation: &Conversation, content: Option<String>) -> HookEvent {
    HookEvent {
        kind,
        channel: conversation.channel.clone(),
        user_id: conversation.user_id.clone(),
        thread_id: Some(conversation.id.clone()),
        content,
        tool_name: None,
        tool_params: None,
    }
}

impl Agent {
    /// The filters and hooks serving now.
    pub(crate) fn pipeline(&self) -> Pipeline {
        Pipeline::new(
            self.tools.runtime().clone(),
            self.tools.live().all(),
            &self.config.safety,
        )
    }

    /// The inbound point: `session-start` on a conversation with nothing
    /// visible yet, then `before-inbound` hooks and `inbound-message`
    /// filters on `text`.
    pub(crate) async fn screen_inbound(
        &self,
        conversation: &Conversation,
        text: &str,
    ) -> Result<Screened, AgentError> {
        let pipeline = self.pipeline();
        // A session starts on a conversation with nothing visible: its first
        // turn, or the first after `/clear` (which ended the last session).
        if pipeline.hooks_for(EventKind::SessionStart).next().is_some()
            && self
                .store
                .visible_history(&conversation.id, 1)
                .await?
                .is_empty()
        {
            // Told, not asked: before-inbound is where a message is refused.
            let start = event(EventKind::SessionStart, conversation, None);
            if let Err(stopped) = pipeline.hooks(start).await {
                tracing::warn!(%stopped, "a session-start hook cannot refuse a session; ignored");
            }
        }
        let hooked = pipeline
            .hooks(event(
                EventKind::BeforeInbound,
                conversation,
                Some(text.to_string()),
            ))
            .await
            .map(|e| e.content.unwrap_or_default());
        let screened = match hooked {
            Ok(text) => {
                pipeline
                    .filter(Stage::InboundMessage, text, &inspection(conversation))
                    .await
            }
            Err(stopped) => Err(stopped),
        };
        Ok(match screened {
            Ok(text) => Screened::Pass(text),
            Err(stopped) => Screened::Stop(format!("Your message was not processed: {stopped}")),
        })
    }

    /// `session-end` hooks, when a conversation is cleared or left for a
    /// new thread. Told, not asked: a rejection changes nothing.
    pub(crate) async fn end_session(&self, conversation: &Conversation) {
        let pipeline = self.pipeline();
        if pipeline.hooks_for(EventKind::SessionEnd).next().is_none() {
            return;
        }
        if let Err(stopped) = pipeline
            .hooks(event(EventKind::SessionEnd, conversation, None))
            .await
        {
            tracing::warn!(%stopped, "a session-end hook cannot keep a session open; ignored");
        }
    }

    /// The outbound point on the final answer (already scrubbed by the
    /// floor): `transform-response` hooks, `outbound-response` filters,
    /// `before-outbound` hooks; then the floor's scrub again, since what
    /// they produced was never scanned. A stop answers with the notice.
    pub(crate) async fn screen_answer(
        &self,
        pipeline: &Pipeline,
        conversation: &Conversation,
        answer: String,
    ) -> Result<String, AgentError> {
        if !pipeline.holds_answer() {
            return Ok(answer);
        }
        let screened = async {
            let transformed = pipeline
                .hooks(event(
                    EventKind::TransformResponse,
                    conversation,
                    Some(answer),
                ))
                .await?
                .content
                .unwrap_or_default();
            let filtered = pipeline
                .filter(
                    Stage::OutboundResponse,
                    transformed,
                    &inspection(conversation),
                )
                .await?;
            let sent = pipeline
                .hooks(event(
                    EventKind::BeforeOutbound,
                    conversation,
                    Some(filtered),
                ))
                .await?;
            Ok::<_, Stopped>(sent.content.unwrap_or_default())
        }
        .await;
        let text = match screened {
            Ok(text) => text,
            Err(stopped) => format!("The answer was withheld: {stopped}"),
        };
        Ok(floor::scrub(&self.secrets, &text, "model output")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_filters(names: &[&'static str], order: &[&str]) -> Vec<&'static str> {
        let order: Vec<String> = order.iter().map(|s| s.to_string()).collect();
        let mut names = names.to_vec();
        names.sort_by(|a, b| filter_key(a, &order).cmp(&filter_key(b, &order)));
        names
    }

    #[test]
    fn filters_named_in_the_order_run_first_then_the_rest_by_name() {
        assert_eq!(
            sorted_filters(
                &["zeta", "alpha", "pii", "jailbreak"],
                &["pii", "jailbreak"]
            ),
            ["pii", "jailbreak", "alpha", "zeta"]
        );
    }

    #[test]
    fn without_an_order_filters_run_by_name_and_unknown_names_are_ignored() {
        assert_eq!(sorted_filters(&["b", "a", "c"], &[]), ["a", "b", "c"]);
        assert_eq!(
            sorted_filters(&["b", "a", "c"], &["missing", "c"]),
            ["c", "a", "b"]
        );
    }

    #[test]
    fn hooks_run_by_priority_lower_first_then_by_name() {
        let mut hooks = [("late", 10), ("b-early", -5), ("a-early", -5), ("mid", 0)];
        hooks.sort_by(|a, b| hook_key(a.0, a.1).cmp(&hook_key(b.0, b.1)));
        let names: Vec<&str> = hooks.iter().map(|h| h.0).collect();
        assert_eq!(names, ["a-early", "b-early", "mid", "late"]);
    }

    #[test]
    fn only_json_objects_are_parameters() {
        assert!(is_json_object(r#"{"a":1}"#));
        assert!(!is_json_object("[1]"));
        assert!(!is_json_object("not json"));
    }

    #[test]
    fn a_stop_names_who_stopped_and_why() {
        let s = Stopped::Blocked {
            filter: "word-filter".into(),
            reason: "a banned word".into(),
        };
        assert_eq!(
            s.to_string(),
            "blocked by safety filter `word-filter`: a banned word"
        );
        let s = Stopped::Rejected {
            hook: "tag-hook".into(),
            reason: "no".into(),
        };
        assert_eq!(s.to_string(), "rejected by hook `tag-hook`: no");
    }
}
