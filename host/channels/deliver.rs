//! From `emit` to the delivered answer: the queue (persisted and
//! deduplicated), the owner's policy, the agent turn with status updates,
//! and delivery through the component's `on-respond` with retries.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::message::InboundMessage;
use super::pairing::Decision;
use super::{ChannelHub, MAX_ATTEMPTS, backoff};
use crate::agent::{AgentEvent, Inbound};
use crate::capabilities::channel_host::ChannelSink;
use crate::runtime::bindings::imports::ironclaw::host::types::CapabilityError;
use crate::runtime::channel::{OutboundMessage, StatusKind, StatusUpdate};
use crate::store::domains::{HealthEvent, MessageState};

/// What a channel user reads when the turn itself failed; the details go
/// to the owner's health record, not to whoever is on the other end.
const SORRY: &str =
    "Sorry — something went wrong while answering. The owner can see what in `ironclaw status`.";

/// The channel hub as the runtime's `channel-host` sees it.
pub struct HubSink(pub Arc<ChannelHub>);

#[async_trait::async_trait]
impl ChannelSink for HubSink {
    async fn emit(&self, channel: &str, message: InboundMessage) -> Result<(), CapabilityError> {
        if let Some((id, message)) = self.0.accept(channel, message).await? {
            self.0.spawn_process(id, channel.to_string(), message, None);
        }
        Ok(())
    }

    async fn emit_and_wait(
        &self,
        channel: &str,
        message: InboundMessage,
        timeout: Duration,
    ) -> Result<Option<String>, CapabilityError> {
        let Some((id, message)) = self.0.accept(channel, message).await? else {
            return Ok(None);
        };
        let (tx, rx) = oneshot::channel();
        self.0
            .spawn_process(id, channel.to_string(), message, Some(tx));
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            // The turn goes on; its answer is delivered through on-respond.
            Ok(Err(_)) | Err(_) => Err(CapabilityError::Failed(format!(
                "no answer within {} ms; it will be delivered through on-respond",
                timeout.as_millis()
            ))),
        }
    }
}

impl ChannelHub {
    /// Checks, scrubs and queues an emitted message: its queue id and the
    /// scrubbed message, which is all that goes on. `None`: a duplicate, or
    /// a group message the policy ignores.
    async fn accept(
        &self,
        channel: &str,
        mut message: InboundMessage,
    ) -> Result<Option<(i64, InboundMessage)>, CapabilityError> {
        let Some(settings) = self.settings(channel) else {
            return Err(CapabilityError::Denied(format!(
                "channel-host: `{channel}` is not configured ([channels.{channel}] in config.toml)"
            )));
        };
        message.validate().map_err(CapabilityError::Invalid)?;
        // A group message the policy ignores is not recorded: its message
        // id must stay free for the same post arriving again as a mention
        // (Slack sends `message` and `app_mention` for one post).
        if let Some(why) = super::pairing::ignored_group_message(settings, &message) {
            tracing::debug!(channel, "message not queued: {why}");
            return Ok(None);
        }
        // A stored secret a user pasted never reaches the model or the
        // database; a canary in an inbound message stops it.
        message.text = crate::agent::floor::scrub(&self.secrets, &message.text, "channel message")
            .map_err(|e| CapabilityError::Invalid(e.to_string()))?;
        let json = serde_json::to_string(&message)
            .map_err(|e| CapabilityError::Failed(format!("cannot queue the message: {e}")))?;
        // A user the policy ignores is kept as dropped in the same write,
        // with no turn to schedule.
        let ignored = super::pairing::ignored_user(settings, &message);
        let id = self
            .store
            .message_insert(channel, message.message_id.as_deref(), &json, ignored)
            .await
            .map_err(|e| CapabilityError::Failed(format!("cannot queue the message: {e}")))?;
        match id {
            Some(id) => {
                self.health(channel, HealthEvent::Inbound).await;
                if let Some(why) = ignored {
                    tracing::info!(channel, user = %message.user_id, "message dropped: {why}");
                    return Ok(None);
                }
                Ok(Some((id, message)))
            }
            None => {
                tracing::debug!(channel, "duplicate message dropped");
                Ok(None)
            }
        }
    }

    pub(crate) fn spawn_process(
        self: &Arc<Self>,
        id: i64,
        channel: String,
        message: InboundMessage,
        waiter: Option<oneshot::Sender<Option<String>>>,
    ) {
        let hub = self.clone();
        tokio::spawn(async move {
            let Ok(_permit) = hub.turns.acquire().await else {
                return;
            };
            hub.process(id, &channel, message, waiter).await;
        });
    }

    async fn process(
        self: &Arc<Self>,
        id: i64,
        channel: &str,
        message: InboundMessage,
        waiter: Option<oneshot::Sender<Option<String>>>,
    ) {
        let decision = match self.decide(channel, &message).await {
            Ok(d) => d,
            Err(e) => {
                let why = format!("policy check failed: {e}");
                self.health(channel, HealthEvent::Error(&why)).await;
                self.mark(id, MessageState::Failed, None, Some(&why)).await;
                return;
            }
        };
        let text = match decision {
            Decision::Drop(why) => {
                tracing::info!(channel, user = %message.user_id, "message dropped: {why}");
                self.mark(id, MessageState::Dropped, None, Some(&why)).await;
                if let Some(w) = waiter {
                    let _ = w.send(None);
                }
                return;
            }
            Decision::Pair(text) => text,
            Decision::Run => self.turn(channel, &message).await,
        };
        if let Some(w) = waiter
            && w.send(Some(text.clone())).is_ok()
        {
            self.mark(id, MessageState::Done, Some(&text), None).await;
            self.health(channel, HealthEvent::Outbound).await;
            return;
        }
        self.mark(id, MessageState::Replying, Some(&text), None)
            .await;
        self.deliver(id, channel, &message, &text, 0).await;
    }

    /// Runs the agent turn with status updates; the answer's text.
    async fn turn(self: &Arc<Self>, channel: &str, message: &InboundMessage) -> String {
        self.status(channel, message, StatusKind::Thinking, None)
            .await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<AgentEvent>();
        let hub = self.clone();
        let (c, m) = (channel.to_string(), message.clone());
        let forward = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let (kind, detail) = match event {
                    AgentEvent::ToolStarted { name, .. } => (StatusKind::ToolStarted, Some(name)),
                    AgentEvent::ToolFinished { name, .. } => (StatusKind::ToolFinished, Some(name)),
                    AgentEvent::ApprovalNeeded { tool, .. } => {
                        (StatusKind::AwaitingApproval, Some(tool))
                    }
                    AgentEvent::Thinking | AgentEvent::Chunk { .. } => continue,
                };
                hub.status(&c, &m, kind, detail).await;
            }
        });
        let inbound = Inbound {
            channel: channel.to_string(),
            user_id: message.user_id.clone(),
            thread: message.agent_thread(),
            text: message.agent_text(),
        };
        let reply = self.agent.handle(inbound, Some(tx)).await;
        let _ = forward.await;
        match reply {
            Ok(r) => {
                self.status(channel, message, StatusKind::Done, None).await;
                r.text
            }
            Err(e) => {
                let why = format!("agent turn failed: {e}");
                self.health(channel, HealthEvent::Error(&why)).await;
                self.status(channel, message, StatusKind::Error, None).await;
                SORRY.to_string()
            }
        }
    }

    /// Hands the answer to the component, retrying with backoff; after
    /// [`MAX_ATTEMPTS`] the message is kept as failed.
    pub(crate) async fn deliver(
        &self,
        id: i64,
        channel: &str,
        message: &InboundMessage,
        text: &str,
        mut attempts: i64,
    ) {
        let outbound = OutboundMessage {
            conversation_id: message.conversation_id.clone(),
            thread_id: message.thread_id.clone(),
            reply_to: message.message_id.clone(),
            user_id: message.user_id.clone(),
            text: text.to_string(),
            metadata: message.metadata.clone(),
        };
        loop {
            let error = match self.ensure_started(channel).await {
                Err(e) => e,
                Ok(started) => {
                    let (answer, _) = self
                        .runtime
                        .channel_respond(&started.component, started.grants.clone(), &outbound)
                        .await;
                    match answer {
                        Ok(Ok(())) => {
                            self.mark(id, MessageState::Done, None, None).await;
                            self.health(channel, HealthEvent::Outbound).await;
                            return;
                        }
                        Ok(Err(e)) => format!("on-respond: {e}"),
                        Err(e) => format!("on-respond failed: {e}"),
                    }
                }
            };
            attempts += 1;
            self.health(channel, HealthEvent::Error(&error)).await;
            if attempts >= MAX_ATTEMPTS || self.stopping() {
                let state = if self.stopping() {
                    MessageState::Replying
                } else {
                    MessageState::Failed
                };
                self.mark(id, state, None, Some(&error)).await;
                return;
            }
            self.mark(id, MessageState::Replying, None, Some(&error))
                .await;
            tokio::time::sleep(backoff(attempts - 1)).await;
        }
    }

    async fn status(
        &self,
        channel: &str,
        message: &InboundMessage,
        kind: StatusKind,
        detail: Option<String>,
    ) {
        let Ok(started) = self.ensure_started(channel).await else {
            return;
        };
        let update = StatusUpdate {
            conversation_id: message.conversation_id.clone(),
            thread_id: message.thread_id.clone(),
            kind,
            detail,
        };
        let (answer, _) = self
            .runtime
            .channel_status(&started.component, started.grants.clone(), &update)
            .await;
        // A typing indicator that fails is not worth a retry or an error
        // record; it is logged.
        match answer {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(channel, "on-status: {e}"),
            Err(e) => tracing::warn!(channel, "on-status failed: {e}"),
        }
    }

    async fn mark(&self, id: i64, state: MessageState, reply: Option<&str>, error: Option<&str>) {
        if let Err(e) = self.store.message_update(id, state, reply, error).await {
            tracing::warn!(
                "cannot record channel message {id} as {}: {e}",
                state.as_str()
            );
        }
    }

    /// Picks up what a previous run left: webhook requests the component
    /// never handled, messages never answered, answers never delivered.
    pub(crate) async fn resume(self: &Arc<Self>) {
        match self.store.message_pending().await {
            Ok(rows) => {
                for row in rows {
                    let Ok(message) = serde_json::from_str::<InboundMessage>(&row.payload) else {
                        self.mark(
                            row.id,
                            MessageState::Failed,
                            None,
                            Some("unreadable queued message"),
                        )
                        .await;
                        continue;
                    };
                    match (row.state.as_str(), row.reply) {
                        ("replying", Some(text)) => {
                            let hub = self.clone();
                            tokio::spawn(async move {
                                hub.deliver(row.id, &row.channel, &message, &text, row.attempts)
                                    .await;
                            });
                        }
                        _ => self.spawn_process(row.id, row.channel, message, None),
                    }
                }
            }
            Err(e) => tracing::warn!("cannot read queued channel messages: {e}"),
        }
        self.resume_inbox().await;
    }
}
