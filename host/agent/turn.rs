//! One turn: the user's message persisted, then model calls and tool calls
//! until an answer, an approval question or the iteration cap. Every
//! message and tool call is persisted as it happens, so a restart (even
//! while a tool call waits for approval) resumes where the turn stood.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::context::{self, StoredToolResult};
use super::floor;
use super::pipeline::Screened;
use super::{Agent, AgentError, AgentEvent, Reply, ReplyKind};
use crate::llm::{CompletionRequest, Message, Provider, StreamSink, ToolCall};
use crate::runtime::tool::CallContext;
use crate::skills::Selection;
use crate::store::domains::{Conversation, PendingApproval, ToolCallRecord};

/// The tool result of a call refused because an installed skill is active.
const ATTENUATED: &str = "Refused by the host: an installed skill is active in this turn, so only \
read-only tools (memory search/read/tree, time, echo, json) may run.";

/// Tokens and tool calls a turn has used so far.
#[derive(Default)]
pub(crate) struct Tally {
    pub tool_calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// How an approval question was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Once,
    Always,
    Deny,
}

fn send(events: &Option<UnboundedSender<AgentEvent>>, event: AgentEvent) {
    if let Some(tx) = events {
        let _ = tx.send(event);
    }
}

impl Agent {
    pub(crate) fn llm_or_explain(&self) -> Result<Arc<dyn Provider>, AgentError> {
        self.llm.clone().ok_or_else(|| AgentError::NoLlm {
            config: self.config_path.clone(),
        })
    }

    pub(crate) async fn user_turn(
        &self,
        conversation: &Conversation,
        inbound: &super::Inbound,
        text: &str,
        events: Option<UnboundedSender<AgentEvent>>,
    ) -> Result<Reply, AgentError> {
        let llm = self.llm_or_explain()?;
        let text = match self.screen_inbound(conversation, text).await? {
            Screened::Pass(text) => text,
            Screened::Stop(notice) => {
                return Ok(self.reply(ReplyKind::Answer, notice, conversation, 0));
            }
        };
        let text = text.as_str();
        // A new message after /undo starts a new branch (start_turn hides
        // the undone turns; their numbers stay used, so next_turn is safe).
        let turn = self.store.next_turn(&conversation.id).await?;
        self.store.start_turn(&conversation.id, turn, text).await?;
        let context = CallContext {
            call_id: format!("{}:{turn}", conversation.id),
            user_id: Some(inbound.user_id.clone()),
            channel: Some(inbound.channel.clone()),
            thread_id: conversation.external_thread_id.clone(),
        };
        let skills = self.select_skills(text).await;
        let result = self
            .run_loop(
                &llm,
                conversation,
                turn,
                &context,
                &events,
                Tally::default(),
                &skills,
            )
            .await;
        self.settle_state(conversation, &result).await;
        result
    }

    /// Resumes a turn after the owner answered its approval question.
    pub(crate) async fn resume(
        &self,
        conversation: &Conversation,
        pending: PendingApproval,
        decision: Decision,
        events: Option<UnboundedSender<AgentEvent>>,
    ) -> Result<Reply, AgentError> {
        let llm = self.llm_or_explain()?;
        if !self
            .store
            .take_pending_approval(&conversation.id, &pending.tool_call_id)
            .await?
        {
            return Ok(self.reply(
                ReplyKind::Command,
                "That approval was already answered.".into(),
                conversation,
                pending.turn,
            ));
        }
        if decision == Decision::Always {
            self.store
                .allow_always(&conversation.channel, &conversation.user_id, &pending.tool)
                .await?;
        }
        self.conversations
            .set_state(&conversation.id, "processing")
            .await?;
        let context = CallContext {
            call_id: format!("{}:{}", conversation.id, pending.turn),
            user_id: Some(conversation.user_id.clone()),
            channel: Some(conversation.channel.clone()),
            thread_id: conversation.external_thread_id.clone(),
        };
        let mut tally = Tally::default();
        let call = ToolCall {
            id: pending.tool_call_id.clone(),
            name: pending.tool.clone(),
            arguments: pending.arguments.clone(),
        };
        let skills = self.skills_of_turn(conversation, pending.turn).await?;
        if skills.attenuates() && !crate::skills::read_only(&call.name) {
            // Not asked while attenuated (gate refuses first); refused
            // here too in case the skills changed while it waited.
            self.store_tool_result(
                conversation,
                pending.turn,
                &call,
                ATTENUATED,
                true,
                "denied",
                0,
            )
            .await?;
        } else if decision == Decision::Deny {
            self.store_tool_result(
                conversation,
                pending.turn,
                &call,
                "The owner denied this tool call.",
                true,
                "denied",
                0,
            )
            .await?;
        } else {
            self.execute(
                conversation,
                pending.turn,
                &call,
                &context,
                &events,
                &mut tally,
            )
            .await?;
        }
        let result = self
            .run_loop(
                &llm,
                conversation,
                pending.turn,
                &context,
                &events,
                tally,
                &skills,
            )
            .await;
        self.settle_state(conversation, &result).await;
        result
    }

    async fn settle_state(&self, conversation: &Conversation, result: &Result<Reply, AgentError>) {
        let state = match result {
            Ok(r) if r.kind == ReplyKind::ApprovalNeeded => "awaiting-approval",
            _ => "idle",
        };
        if let Err(e) = self.conversations.set_state(&conversation.id, state).await {
            tracing::warn!(conversation = %conversation.id, error = %e, "turn state not saved");
        }
    }

    /// The skills for a user message (none when the agent has no catalog).
    async fn select_skills(&self, text: &str) -> Selection {
        let Some((catalog, config)) = &self.skills else {
            return Selection::default();
        };
        let catalog = catalog.clone();
        // Reading the skill files is blocking work (at most every CATALOG_TTL).
        let snapshot = match tokio::task::spawn_blocking(move || catalog.snapshot()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "skills not loaded");
                return Selection::default();
            }
        };
        let selection = crate::skills::select(&snapshot, text, config);
        if !selection.is_empty() {
            let names: Vec<&str> = selection.skills.iter().map(|s| s.name()).collect();
            tracing::info!(skills = ?names, attenuated = selection.attenuates(), "skills active");
        }
        selection
    }

    /// The skills of an earlier turn of this conversation (a resumed one),
    /// selected again from its user message.
    async fn skills_of_turn(
        &self,
        conversation: &Conversation,
        turn: i64,
    ) -> Result<Selection, AgentError> {
        if self.skills.is_none() {
            return Ok(Selection::default());
        }
        let history = self
            .store
            .visible_history(&conversation.id, self.config.history_messages)
            .await?;
        let text = history
            .iter()
            .find(|m| m.turn == turn && m.message.role == "user")
            .map(|m| m.message.content.clone())
            .unwrap_or_default();
        Ok(self.select_skills(&text).await)
    }

    /// Answers the turn's open tool calls, then calls the model until it
    /// answers without tools, asks for approval, or the cap is reached.
    #[allow(clippy::too_many_arguments)]
    async fn run_loop(
        &self,
        llm: &Arc<dyn Provider>,
        conversation: &Conversation,
        turn: i64,
        context: &CallContext,
        events: &Option<UnboundedSender<AgentEvent>>,
        mut tally: Tally,
        skills: &Selection,
    ) -> Result<Reply, AgentError> {
        let pipeline = self.pipeline();
        let mut tools = self.tools.tools();
        let attenuated = skills.attenuates();
        if attenuated {
            tools.retain(|t| crate::skills::read_only(&t.name));
        }
        let definitions = super::ToolHost::definitions(&tools);
        let tools_bytes: usize = definitions
            .iter()
            .map(|d| d.name.len() + d.description.len() + d.parameters_schema.len())
            .sum();
        let mut iterations = 0;
        loop {
            // Tool calls of this turn still without a result (after a
            // resume, or the rest of a batch) run first.
            let mut history = self
                .store
                .visible_history(&conversation.id, self.config.history_messages)
                .await?;
            let open_calls = context::unanswered_calls(&history, turn);
            let ran_tools = !open_calls.is_empty();
            for call in open_calls {
                if let Some(question) = self
                    .gate(
                        conversation,
                        turn,
                        &call,
                        context,
                        events,
                        &mut tally,
                        attenuated,
                    )
                    .await?
                {
                    return Ok(self.finish(
                        question,
                        conversation,
                        turn,
                        tally,
                        ReplyKind::ApprovalNeeded,
                    ));
                }
            }
            if iterations >= self.config.max_iterations {
                let note = format!(
                    "I stopped after {} model calls in this turn without reaching an answer. Ask me to continue, or narrow the request.",
                    self.config.max_iterations
                );
                self.store
                    .append_turn_message(&conversation.id, turn, "assistant", &note, None)
                    .await?;
                return Ok(self.finish(note, conversation, turn, tally, ReplyKind::Answer));
            }
            iterations += 1;
            let mut messages = self.prompt(conversation).await?;
            if let Some(text) = skills.message() {
                // Right after the system prompt, before the summary.
                messages.insert(1.min(messages.len()), Message::system(text));
            }
            // Read again only when tool results were added since.
            if ran_tools {
                history = self
                    .store
                    .visible_history(&conversation.id, self.config.history_messages)
                    .await?;
            }
            let replay = context::to_messages(&history);
            let estimate = context::estimate_tokens(&replay, tools_bytes);
            if self.should_compact(llm, estimate).await
                && self
                    .compact(llm, conversation, turn - self.config.keep_turns + 1)
                    .await?
                    > 0
            {
                continue;
            }
            messages.extend(replay);
            let request = CompletionRequest {
                messages,
                tools: definitions.clone(),
                ..CompletionRequest::default()
            };
            send(events, AgentEvent::Thinking);
            // A filter or hook may still change the answer: show it only
            // once it is final.
            let streamed = if pipeline.holds_answer() {
                &None
            } else {
                events
            };
            let sink: Option<StreamSink> = streamed.clone().map(|tx| {
                Arc::new(move |text: &str| {
                    let _ = tx.send(AgentEvent::Chunk {
                        text: text.to_string(),
                    });
                }) as StreamSink
            });
            let completion = llm.complete(&request, sink).await?;
            tally.input_tokens += u64::from(completion.usage.input_tokens);
            tally.output_tokens += u64::from(completion.usage.output_tokens);
            let content = floor::scrub(&self.secrets, &completion.content, "model output")?;
            let content = if completion.tool_calls.is_empty() {
                self.screen_answer(&pipeline, conversation, content).await?
            } else {
                content
            };
            let calls_json = if completion.tool_calls.is_empty() {
                None
            } else {
                serde_json::to_string(&completion.tool_calls).ok()
            };
            self.store
                .append_turn_message(
                    &conversation.id,
                    turn,
                    "assistant",
                    &content,
                    calls_json.as_deref(),
                )
                .await?;
            if completion.tool_calls.is_empty() {
                return Ok(self.finish(content, conversation, turn, tally, ReplyKind::Answer));
            }
        }
    }

    fn finish(
        &self,
        text: String,
        conversation: &Conversation,
        turn: i64,
        tally: Tally,
        kind: ReplyKind,
    ) -> Reply {
        let mut reply = self.reply(kind, text, conversation, turn);
        reply.tool_calls = tally.tool_calls;
        reply.input_tokens = tally.input_tokens;
        reply.output_tokens = tally.output_tokens;
        reply
    }

    /// Runs `call` unless it needs the owner's approval first; then the
    /// question to ask, with the approval persisted. While an installed
    /// skill is active (`attenuated`) a tool outside the read-only set is
    /// refused without asking, even though it was never offered.
    #[allow(clippy::too_many_arguments)]
    async fn gate(
        &self,
        conversation: &Conversation,
        turn: i64,
        call: &ToolCall,
        context: &CallContext,
        events: &Option<UnboundedSender<AgentEvent>>,
        tally: &mut Tally,
        attenuated: bool,
    ) -> Result<Option<String>, AgentError> {
        if attenuated && !crate::skills::read_only(&call.name) {
            tracing::warn!(tool = %call.name, "tool call refused: an installed skill is active");
            self.store_tool_result(conversation, turn, call, ATTENUATED, true, "denied", 0)
                .await?;
            return Ok(None);
        }
        let asks = self.tools.requires_approval(&call.name)
            || self.config.require_approval.contains(&call.name);
        if asks
            && !self
                .store
                .is_always_allowed(&conversation.channel, &conversation.user_id, &call.name)
                .await?
        {
            self.store
                .set_pending_approval(&PendingApproval {
                    conversation_id: conversation.id.clone(),
                    turn,
                    tool_call_id: call.id.clone(),
                    tool: call.name.clone(),
                    arguments: call.arguments.clone(),
                    created_at: crate::store::now_ms(),
                })
                .await?;
            send(
                events,
                AgentEvent::ApprovalNeeded {
                    tool: call.name.clone(),
                    arguments: call.arguments.clone(),
                },
            );
            return Ok(Some(format!(
                "Tool `{}` needs your approval to run with {}. Answer /approve (this once), /approve always (this tool from now on) or /deny.",
                call.name, call.arguments
            )));
        }
        self.execute(conversation, turn, call, context, events, tally)
            .await?;
        Ok(None)
    }

    async fn execute(
        &self,
        conversation: &Conversation,
        turn: i64,
        call: &ToolCall,
        context: &CallContext,
        events: &Option<UnboundedSender<AgentEvent>>,
        tally: &mut Tally,
    ) -> Result<(), AgentError> {
        let pipeline = self.pipeline();
        let call = match pipeline.before_tool_call(conversation, call).await {
            Ok(call) => call,
            Err(stopped) => {
                let why = stopped.to_string();
                return self
                    .store_tool_result(conversation, turn, call, &why, true, "denied", 0)
                    .await;
            }
        };
        let call = call.as_ref();
        send(
            events,
            AgentEvent::ToolStarted {
                name: call.name.clone(),
                arguments: call.arguments.clone(),
            },
        );
        let result = self.tools.call(&call.name, &call.arguments, context).await;
        let result = pipeline.tool_output(conversation, &call.name, result).await;
        tally.tool_calls += 1;
        send(
            events,
            AgentEvent::ToolFinished {
                name: call.name.clone(),
                ok: !result.is_error,
            },
        );
        let outcome = if result.is_error { "error" } else { "ok" };
        self.store_tool_result(
            conversation,
            turn,
            call,
            &result.output,
            result.is_error,
            outcome,
            result.duration.as_millis() as i64,
        )
        .await
    }

    /// Persists a tool's result (wrapped by the floor) as the model will
    /// see it, and the call in the tool-call record.
    #[allow(clippy::too_many_arguments)]
    async fn store_tool_result(
        &self,
        conversation: &Conversation,
        turn: i64,
        call: &ToolCall,
        output: &str,
        is_error: bool,
        outcome: &str,
        duration_ms: i64,
    ) -> Result<(), AgentError> {
        let wrapped = floor::wrap_tool_output(&self.secrets, &call.name, output, is_error)
            .unwrap_or_else(|blocked| {
                format!(
                    "<tool_output name=\"{}\" status=\"error\">\n{}\n</tool_output>",
                    floor::escape(&call.name),
                    floor::escape(&blocked.to_string())
                )
            });
        let meta = serde_json::to_string(&StoredToolResult {
            tool_call_id: call.id.clone(),
            name: call.name.clone(),
            is_error,
        })
        .ok();
        self.store
            .append_tool_result(
                ToolCallRecord {
                    conversation_id: &conversation.id,
                    turn,
                    tool_call_id: &call.id,
                    tool: &call.name,
                    arguments: &call.arguments,
                    output: &wrapped,
                    outcome,
                    duration_ms,
                },
                meta.as_deref(),
            )
            .await?;
        Ok(())
    }

    /// The system prompt, from the cache while it is fresh.
    async fn system_prompt(&self) -> Arc<str> {
        if let Ok(cache) = self.prompt_cache.lock()
            && let Some((read_at, prompt)) = cache.as_ref()
            && read_at.elapsed() < super::PROMPT_TTL
        {
            return prompt.clone();
        }
        let prompt: Arc<str> = context::system_prompt(self.memory.as_deref()).await.into();
        if let Ok(mut cache) = self.prompt_cache.lock() {
            *cache = Some((std::time::Instant::now(), prompt.clone()));
        }
        prompt
    }

    /// The system prompt and the summary of compacted history.
    pub(crate) async fn prompt(
        &self,
        conversation: &Conversation,
    ) -> Result<Vec<Message>, AgentError> {
        let mut messages = vec![Message::system(self.system_prompt().await.to_string())];
        if let Some(summary) = self.store.summary(&conversation.id).await? {
            messages.push(Message::system(format!(
                "Summary of the earlier conversation:\n{summary}"
            )));
        }
        Ok(messages)
    }
}
