//! The host's own chat-completion types: what the agent builds, the chain
//! retries and caches, and the store persists. They mirror `llm-types` in
//! `wit/llm.wit`; `wit_convert` maps between the two at the component edge.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ToolCall {
    /// Provider-assigned id, echoed back in the matching tool result.
    pub id: String,
    pub name: String,
    /// The arguments as the model produced them: a JSON object in text.
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    System {
        content: String,
    },
    User {
        content: String,
    },
    Assistant {
        content: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    Tool {
        tool_call_id: String,
        name: String,
        content: String,
        #[serde(default)]
        is_error: bool,
    },
}

impl Message {
    pub fn system(content: impl Into<String>) -> Message {
        Message::System {
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Message {
        Message::User {
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Message {
        Message::Assistant {
            content: content.into(),
            tool_calls: Vec::new(),
        }
    }

    /// The text a model sees of this message (tool calls excluded).
    pub fn text(&self) -> &str {
        match self {
            Message::System { content }
            | Message::User { content }
            | Message::Assistant { content, .. }
            | Message::Tool { content, .. } => content,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ToolDefinition {
    pub name: String,
    pub description: String,
    /// JSON Schema of the parameters object, as text.
    pub parameters_schema: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CompletionRequest {
    pub messages: Vec<Message>,
    #[serde(default)]
    pub tools: Vec<ToolDefinition>,
    /// Overrides the adapter's configured model.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub stop: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    Other,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u32,
    pub output_tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub content: String,
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: FinishReason,
    pub usage: TokenUsage,
    /// The model that actually answered.
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub context_window: u32,
    pub max_output_tokens: u32,
    pub supports_tools: bool,
    /// Set when the model can embed: the length of each vector.
    pub embedding_dimensions: Option<u32>,
}

/// Why a completion failed. `Transient` and `RateLimited` are worth
/// retrying; the rest are not (retrying a bad key only burns quota).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum LlmError {
    #[error("llm denied: {0}")]
    Denied(String),
    #[error("no LLM available: {0}")]
    NotAvailable(String),
    #[error("invalid LLM request: {0}")]
    InvalidRequest(String),
    #[error("the provider refused the credentials: {0}")]
    Auth(String),
    #[error("rate limited by the provider{}", retry_after_text(.0))]
    RateLimited(Option<u32>),
    #[error("the conversation is too long for the model: {0}")]
    ContextTooLong(String),
    #[error("transient LLM failure: {0}")]
    Transient(String),
    #[error("LLM failure: {0}")]
    Failed(String),
    /// The owner's daily budget is spent; nothing was sent.
    #[error("daily LLM budget exhausted: {0}")]
    BudgetExhausted(String),
    /// The adapter's circuit breaker is open; nothing was sent.
    #[error("circuit open for {0}")]
    CircuitOpen(String),
}

fn retry_after_text(seconds: &Option<u32>) -> String {
    seconds.map_or_else(String::new, |s| format!(" (retry after {s} s)"))
}

impl LlmError {
    /// Failures a retry (or the next provider in the chain) may fix.
    pub fn is_transient(&self) -> bool {
        matches!(self, LlmError::Transient(_) | LlmError::RateLimited(_))
    }
}
