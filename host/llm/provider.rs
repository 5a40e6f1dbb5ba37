//! One source of completions: an adapter component with its configuration
//! (`ComponentProvider`), or the chain that wraps several with retries, a
//! breaker per provider, failover and a cache (`chain`).

use std::sync::Arc;

use super::types::{Completion, CompletionRequest, LlmError, ModelInfo};

/// Receives the answer's text in order while a completion is in flight.
/// Called from the adapter's call; must not block.
pub type StreamSink = Arc<dyn Fn(&str) + Send + Sync>;

#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// A short name for logs, status and accounting (`openai`, `anthropic:claude-…`).
    fn name(&self) -> &str;

    /// One completion. `stream`, when given, receives text chunks as they
    /// arrive; the returned completion still carries the whole text.
    async fn complete(
        &self,
        request: &CompletionRequest,
        stream: Option<StreamSink>,
    ) -> Result<Completion, LlmError>;

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, LlmError>;

    async fn describe(&self) -> Result<ModelInfo, LlmError>;
}
