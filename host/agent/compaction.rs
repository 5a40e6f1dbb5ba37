//! Context compaction: when a conversation nears the model's context
//! window (or on `/compact`), the model summarises the older turns; they
//! are hidden and the summary is replayed in their place.

use std::sync::Arc;

use super::context;
use super::{Agent, AgentError};
use crate::llm::{CompletionRequest, Message, Provider};
use crate::store::domains::Conversation;

const SUMMARY_PROMPT: &str = "Summarise the conversation below for your own future reference: \
facts learned, decisions made, open tasks, the user's preferences, and anything tools returned \
that is still needed. Be concise and exact; keep names, numbers and paths. Output only the summary.";

impl Agent {
    /// Whether `estimate` tokens crosses the compaction threshold of the
    /// model's window. A model that cannot say its window is never
    /// compacted automatically (`/compact` still works).
    pub(crate) async fn should_compact(&self, llm: &Arc<dyn Provider>, estimate: usize) -> bool {
        match llm.describe().await {
            Ok(info) if info.context_window > 0 => {
                estimate as f64 >= f64::from(info.context_window) * self.config.compact_at
            }
            _ => false,
        }
    }

    /// Summarises the visible turns below `keep_from_turn` (with the
    /// previous summary) and hides them. Returns how many messages were
    /// hidden; 0 when there was nothing old enough.
    pub(crate) async fn compact(
        &self,
        llm: &Arc<dyn Provider>,
        conversation: &Conversation,
        keep_from_turn: i64,
    ) -> Result<u64, AgentError> {
        let history = self
            .store
            .visible_history(&conversation.id, self.config.history_messages)
            .await?;
        let old: Vec<_> = history
            .into_iter()
            .filter(|m| m.turn < keep_from_turn)
            .collect();
        if old.is_empty() {
            return Ok(0);
        }
        let mut text = String::new();
        if let Some(previous) = self.store.summary(&conversation.id).await? {
            text.push_str(&format!("Earlier summary:\n{previous}\n\n"));
        }
        text.push_str(&context::transcript(&old));
        let request = CompletionRequest {
            messages: vec![Message::system(SUMMARY_PROMPT), Message::user(text)],
            ..CompletionRequest::default()
        };
        let summary = llm.complete(&request, None).await?;
        let summary = super::floor::scrub(&self.secrets, &summary.content, "summary")?;
        Ok(self
            .store
            .compact(&conversation.id, keep_from_turn, summary.trim())
            .await?)
    }
}
