//! An inbound message as the host keeps it (JSON in `channel_messages`),
//! converted from what a channel component emits.

use serde::{Deserialize, Serialize};

use crate::runtime::bindings::imports::ironclaw::host::channel_host as wit;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub mime_type: String,
    pub name: Option<String>,
    pub reference: String,
    pub size_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub user_id: String,
    pub user_name: Option<String>,
    pub conversation_id: String,
    pub thread_id: Option<String>,
    pub message_id: Option<String>,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub is_direct: bool,
    pub mentions_bot: bool,
    pub metadata: Vec<(String, String)>,
}

/// Longest message text the host accepts from a channel.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

impl InboundMessage {
    /// Checks what a component emitted: ids present and bounded, text
    /// within [`MAX_TEXT_BYTES`].
    pub fn validate(&self) -> Result<(), String> {
        if self.user_id.trim().is_empty() {
            return Err("user-id is empty".into());
        }
        if self.conversation_id.trim().is_empty() {
            return Err("conversation-id is empty".into());
        }
        for (what, v) in [
            ("user-id", Some(&self.user_id)),
            ("conversation-id", Some(&self.conversation_id)),
            ("thread-id", self.thread_id.as_ref()),
            ("message-id", self.message_id.as_ref()),
        ] {
            if v.is_some_and(|v| v.len() > 256) {
                return Err(format!("{what} is longer than 256 bytes"));
            }
        }
        if self.text.len() > MAX_TEXT_BYTES {
            return Err(format!(
                "text is {} bytes, over the {MAX_TEXT_BYTES}-byte limit",
                self.text.len()
            ));
        }
        if self.metadata.len() > 64 {
            return Err("more than 64 metadata entries".into());
        }
        Ok(())
    }

    /// The text the agent sees: the message, then one line per attachment.
    pub fn agent_text(&self) -> String {
        let mut text = self.text.clone();
        for a in &self.attachments {
            let name = a.name.as_deref().unwrap_or("unnamed");
            let size = a
                .size_bytes
                .map(|s| format!(", {s} bytes"))
                .unwrap_or_default();
            text.push_str(&format!(
                "\n[attachment {name} ({}{size}): {}]",
                a.mime_type, a.reference
            ));
        }
        text
    }

    /// The agent's thread for this message: a direct message without a
    /// provider thread uses the user's current thread (so `/thread new`
    /// works); anything else is its own conversation per chat and thread.
    pub fn agent_thread(&self) -> Option<String> {
        match (&self.thread_id, self.is_direct) {
            (None, true) => None,
            (None, false) => Some(self.conversation_id.clone()),
            (Some(t), _) => Some(format!("{}/{t}", self.conversation_id)),
        }
    }
}

impl From<wit::InboundMessage> for InboundMessage {
    fn from(m: wit::InboundMessage) -> InboundMessage {
        InboundMessage {
            user_id: m.user_id,
            user_name: m.user_name,
            conversation_id: m.conversation_id,
            thread_id: m.thread_id,
            message_id: m.message_id,
            text: m.text,
            attachments: m
                .attachments
                .into_iter()
                .map(|a| Attachment {
                    mime_type: a.mime_type,
                    name: a.name,
                    reference: a.reference,
                    size_bytes: a.size_bytes,
                })
                .collect(),
            is_direct: m.is_direct,
            mentions_bot: m.mentions_bot,
            metadata: m.metadata,
        }
    }
}
