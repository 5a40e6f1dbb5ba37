//! Calling hook components: `register` (once, as the load's smoke test)
//! and `on-event`, each in a fresh store under the hook's budgets.

use serde::Serialize;

use super::bindings::hook::exports::ironclaw::host::hook as wit;
use super::call::CallSetup;
use super::error::CallError;
use super::safety::{JudgeError, oversized};
use super::usage::Usage;
use super::{LoadedComponent, Runtime};

/// The agent events a hook may subscribe to (DESIGN §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    BeforeInbound,
    BeforeOutbound,
    BeforeToolCall,
    TransformResponse,
    SessionStart,
    SessionEnd,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BeforeInbound => "before-inbound",
            EventKind::BeforeOutbound => "before-outbound",
            EventKind::BeforeToolCall => "before-tool-call",
            EventKind::TransformResponse => "transform-response",
            EventKind::SessionStart => "session-start",
            EventKind::SessionEnd => "session-end",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<wit::EventKind> for EventKind {
    fn from(k: wit::EventKind) -> EventKind {
        match k {
            wit::EventKind::BeforeInbound => EventKind::BeforeInbound,
            wit::EventKind::BeforeOutbound => EventKind::BeforeOutbound,
            wit::EventKind::BeforeToolCall => EventKind::BeforeToolCall,
            wit::EventKind::TransformResponse => EventKind::TransformResponse,
            wit::EventKind::SessionStart => EventKind::SessionStart,
            wit::EventKind::SessionEnd => EventKind::SessionEnd,
        }
    }
}

impl From<EventKind> for wit::EventKind {
    fn from(k: EventKind) -> wit::EventKind {
        match k {
            EventKind::BeforeInbound => wit::EventKind::BeforeInbound,
            EventKind::BeforeOutbound => wit::EventKind::BeforeOutbound,
            EventKind::BeforeToolCall => wit::EventKind::BeforeToolCall,
            EventKind::TransformResponse => wit::EventKind::TransformResponse,
            EventKind::SessionStart => wit::EventKind::SessionStart,
            EventKind::SessionEnd => wit::EventKind::SessionEnd,
        }
    }
}

/// What a hook subscribed to when it was loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub events: Vec<EventKind>,
    /// Lower runs first.
    pub priority: i32,
}

impl Registration {
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.contains(&kind)
    }
}

/// One event, as a hook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEvent {
    pub kind: EventKind,
    pub channel: String,
    pub user_id: String,
    pub thread_id: Option<String>,
    pub content: Option<String>,
    pub tool_name: Option<String>,
    /// JSON object of a tool call's parameters.
    pub tool_params: Option<String>,
}

/// A hook's change to the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modification {
    Content(String),
    Params(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookResult {
    Continue,
    Modify(Modification),
    Reject(String),
}

impl From<wit::HookResult> for HookResult {
    fn from(r: wit::HookResult) -> HookResult {
        match r {
            wit::HookResult::Continue => HookResult::Continue,
            wit::HookResult::Modify(wit::Modification::Content(c)) => {
                HookResult::Modify(Modification::Content(c))
            }
            wit::HookResult::Modify(wit::Modification::Params(p)) => {
                HookResult::Modify(Modification::Params(p))
            }
            wit::HookResult::Reject(why) => HookResult::Reject(why),
        }
    }
}

impl Runtime {
    /// What a hook subscribes to (events deduplicated, in its order).
    pub async fn hook_register(
        &self,
        loaded: &LoadedComponent,
    ) -> (Result<Registration, CallError>, Usage) {
        let (result, usage) = self
            .run(loaded, CallSetup::default(), async |store, pre| {
                let instance = pre.hook()?.instantiate_async(&mut *store).await?;
                instance
                    .ironclaw_host_hook()
                    .call_register(&mut *store)
                    .await
            })
            .await;
        let registration = result.map(|r| {
            let mut events: Vec<EventKind> = Vec::with_capacity(r.events.len());
            for e in r.events.into_iter().map(EventKind::from) {
                if !events.contains(&e) {
                    events.push(e);
                }
            }
            Registration {
                events,
                priority: r.priority,
            }
        });
        (registration, usage)
    }

    /// Delivers `event` to the hook. A modification larger than the
    /// component's output cap is refused like an oversized tool result.
    pub async fn hook_event(
        &self,
        loaded: &LoadedComponent,
        event: &HookEvent,
    ) -> (Result<HookResult, JudgeError>, Usage) {
        let wit_event = wit::HookEvent {
            kind: event.kind.into(),
            channel: event.channel.clone(),
            user_id: event.user_id.clone(),
            thread_id: event.thread_id.clone(),
            content: event.content.clone(),
            tool_name: event.tool_name.clone(),
            tool_params: event.tool_params.clone(),
        };
        let (result, usage) = self
            .run(loaded, CallSetup::default(), async move |store, pre| {
                let instance = pre.hook()?.instantiate_async(&mut *store).await?;
                instance
                    .ironclaw_host_hook()
                    .call_on_event(&mut *store, &wit_event)
                    .await
            })
            .await;
        let outcome = match result {
            Ok(Ok(r)) => {
                let r = HookResult::from(r);
                match &r {
                    HookResult::Modify(Modification::Content(s) | Modification::Params(s))
                        if s.len() > loaded.limits.output_bytes =>
                    {
                        Err(JudgeError::Call(
                            oversized(loaded, s.len()).with_usage(usage),
                        ))
                    }
                    _ => Ok(r),
                }
            }
            Ok(Err(reported)) => Err(JudgeError::Reported(reported)),
            Err(e) => Err(JudgeError::Call(e.with_usage(usage))),
        };
        (outcome, usage)
    }
}
