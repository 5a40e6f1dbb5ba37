//! Completions for the agent and for components granted `llm`: adapter
//! components behind the host's retry / circuit-breaker / failover / cache
//! chain, with token and cost accounting and a daily budget (DESIGN §6).

pub mod adapter_grant;
pub mod component_provider;
pub mod provider;
pub mod types;
mod wit_convert;

pub use provider::{Provider, StreamSink};
pub use types::{
    Completion, CompletionRequest, FinishReason, LlmError, Message, ModelInfo, TokenUsage,
    ToolCall, ToolDefinition,
};
