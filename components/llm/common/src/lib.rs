//! What the three LLM adapter components (`openai`, `anthropic`, `gemini`)
//! share. Everything but [`host`] is plain logic with no wasi calls, tested
//! natively:
//!
//! - [`settings`]: the owner's configuration keys and their defaults;
//! - [`errors`]: HTTP statuses, provider error bodies and transport
//!   failures mapped to `llm-error`;
//! - [`models`]: the built-in table of context windows and output limits;
//! - [`fold`]: the streaming contract (an SSE event at a time, text chunks
//!   out in order) and a driver that runs it over raw body bytes;
//! - [`json`]: small helpers for tool-call arguments.
//!
//! [`host`] is the thin glue over the SDK: config, secrets, `llm-stream`
//! and the wasi:http client.

pub mod errors;
pub mod fold;
pub mod host;
pub mod json;
pub mod models;
pub mod settings;

pub use ironclaw_sdk::llm_types::{
    AssistantMessage, Completion, CompletionRequest, FinishReason, LlmError, Message, ModelInfo,
    ToolCall, ToolDefinition, ToolResult, Usage,
};
pub use ironclaw_sdk::sse::{SseEvent, SseParser};
