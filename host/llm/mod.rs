//! Completions for the agent and for components granted `llm`: adapter
//! components behind the host's retry / circuit-breaker / failover / cache
//! chain, with token and cost accounting and a daily budget (DESIGN §6).

pub mod adapter_grant;
pub mod breaker;
pub mod budget;
pub mod chain;
pub mod chain_config;
pub mod clock;
pub mod component_provider;
pub mod config;
pub mod pricing;
pub mod provider;
pub mod response_cache;
pub mod retry;
pub mod types;
mod wit_convert;

pub use budget::Accounting;
pub use chain::{Chain, ProviderStatus};
pub use chain_config::{CacheConfig, Price, ResilienceConfig};
pub use provider::{Provider, StreamSink};
pub use types::{
    Completion, CompletionRequest, FinishReason, LlmError, Message, ModelInfo, TokenUsage,
    ToolCall, ToolDefinition,
};
