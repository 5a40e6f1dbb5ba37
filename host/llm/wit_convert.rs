//! Between the host's completion types and the WIT `llm-types` records, at
//! the component edge (adapters export them, tools import them).

use super::types::{
    Completion, CompletionRequest, FinishReason, LlmError, Message, ModelInfo, TokenUsage,
    ToolCall, ToolDefinition,
};
use crate::runtime::bindings::imports::ironclaw::host::llm_types as wit;

impl From<&ToolCall> for wit::ToolCall {
    fn from(c: &ToolCall) -> wit::ToolCall {
        wit::ToolCall {
            id: c.id.clone(),
            name: c.name.clone(),
            arguments: c.arguments.clone(),
        }
    }
}

impl From<wit::ToolCall> for ToolCall {
    fn from(c: wit::ToolCall) -> ToolCall {
        ToolCall {
            id: c.id,
            name: c.name,
            arguments: c.arguments,
        }
    }
}

impl From<&Message> for wit::Message {
    fn from(m: &Message) -> wit::Message {
        match m {
            Message::System { content } => wit::Message::System(content.clone()),
            Message::User { content } => wit::Message::User(content.clone()),
            Message::Assistant {
                content,
                tool_calls,
            } => wit::Message::Assistant(wit::AssistantMessage {
                content: content.clone(),
                tool_calls: tool_calls.iter().map(Into::into).collect(),
            }),
            Message::Tool {
                tool_call_id,
                name,
                content,
                is_error,
            } => wit::Message::Tool(wit::ToolResult {
                tool_call_id: tool_call_id.clone(),
                name: name.clone(),
                content: content.clone(),
                is_error: *is_error,
            }),
        }
    }
}

impl From<wit::Message> for Message {
    fn from(m: wit::Message) -> Message {
        match m {
            wit::Message::System(content) => Message::System { content },
            wit::Message::User(content) => Message::User { content },
            wit::Message::Assistant(a) => Message::Assistant {
                content: a.content,
                tool_calls: a.tool_calls.into_iter().map(Into::into).collect(),
            },
            wit::Message::Tool(t) => Message::Tool {
                tool_call_id: t.tool_call_id,
                name: t.name,
                content: t.content,
                is_error: t.is_error,
            },
        }
    }
}

impl From<&CompletionRequest> for wit::CompletionRequest {
    fn from(r: &CompletionRequest) -> wit::CompletionRequest {
        wit::CompletionRequest {
            messages: r.messages.iter().map(Into::into).collect(),
            tools: r
                .tools
                .iter()
                .map(|t| wit::ToolDefinition {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    parameters_schema: t.parameters_schema.clone(),
                })
                .collect(),
            model: r.model.clone(),
            temperature: r.temperature,
            max_tokens: r.max_tokens,
            stop: r.stop.clone(),
        }
    }
}

impl From<wit::CompletionRequest> for CompletionRequest {
    fn from(r: wit::CompletionRequest) -> CompletionRequest {
        CompletionRequest {
            messages: r.messages.into_iter().map(Into::into).collect(),
            tools: r
                .tools
                .into_iter()
                .map(|t| ToolDefinition {
                    name: t.name,
                    description: t.description,
                    parameters_schema: t.parameters_schema,
                })
                .collect(),
            model: r.model,
            temperature: r.temperature,
            max_tokens: r.max_tokens,
            stop: r.stop,
        }
    }
}

impl From<wit::FinishReason> for FinishReason {
    fn from(f: wit::FinishReason) -> FinishReason {
        match f {
            wit::FinishReason::Stop => FinishReason::Stop,
            wit::FinishReason::Length => FinishReason::Length,
            wit::FinishReason::ToolCalls => FinishReason::ToolCalls,
            wit::FinishReason::ContentFilter => FinishReason::ContentFilter,
            wit::FinishReason::Other => FinishReason::Other,
        }
    }
}

impl From<FinishReason> for wit::FinishReason {
    fn from(f: FinishReason) -> wit::FinishReason {
        match f {
            FinishReason::Stop => wit::FinishReason::Stop,
            FinishReason::Length => wit::FinishReason::Length,
            FinishReason::ToolCalls => wit::FinishReason::ToolCalls,
            FinishReason::ContentFilter => wit::FinishReason::ContentFilter,
            FinishReason::Other => wit::FinishReason::Other,
        }
    }
}

impl From<wit::Completion> for Completion {
    fn from(c: wit::Completion) -> Completion {
        Completion {
            content: c.content,
            tool_calls: c.tool_calls.into_iter().map(Into::into).collect(),
            finish_reason: c.finish_reason.into(),
            usage: TokenUsage {
                input_tokens: c.usage.input_tokens,
                output_tokens: c.usage.output_tokens,
            },
            model: c.model,
        }
    }
}

impl From<Completion> for wit::Completion {
    fn from(c: Completion) -> wit::Completion {
        wit::Completion {
            content: c.content,
            tool_calls: c.tool_calls.iter().map(Into::into).collect(),
            finish_reason: c.finish_reason.into(),
            usage: wit::Usage {
                input_tokens: c.usage.input_tokens,
                output_tokens: c.usage.output_tokens,
            },
            model: c.model,
        }
    }
}

impl From<wit::ModelInfo> for ModelInfo {
    fn from(m: wit::ModelInfo) -> ModelInfo {
        ModelInfo {
            name: m.name,
            context_window: m.context_window,
            max_output_tokens: m.max_output_tokens,
            supports_tools: m.supports_tools,
            embedding_dimensions: m.embedding_dimensions,
        }
    }
}

impl From<ModelInfo> for wit::ModelInfo {
    fn from(m: ModelInfo) -> wit::ModelInfo {
        wit::ModelInfo {
            name: m.name,
            context_window: m.context_window,
            max_output_tokens: m.max_output_tokens,
            supports_tools: m.supports_tools,
            embedding_dimensions: m.embedding_dimensions,
        }
    }
}

impl From<wit::LlmError> for LlmError {
    fn from(e: wit::LlmError) -> LlmError {
        match e {
            wit::LlmError::Denied(m) => LlmError::Denied(m),
            wit::LlmError::NotAvailable(m) => LlmError::NotAvailable(m),
            wit::LlmError::InvalidRequest(m) => LlmError::InvalidRequest(m),
            wit::LlmError::Auth(m) => LlmError::Auth(m),
            wit::LlmError::RateLimited(s) => LlmError::RateLimited(s),
            wit::LlmError::ContextTooLong(m) => LlmError::ContextTooLong(m),
            wit::LlmError::Transient(m) => LlmError::Transient(m),
            wit::LlmError::Failed(m) => LlmError::Failed(m),
        }
    }
}

impl From<LlmError> for wit::LlmError {
    /// Host-only refusals (budget, open circuit) reach a guest as the
    /// nearest WIT case, with the host's words.
    fn from(e: LlmError) -> wit::LlmError {
        match e {
            LlmError::Denied(m) => wit::LlmError::Denied(m),
            LlmError::NotAvailable(m) => wit::LlmError::NotAvailable(m),
            LlmError::InvalidRequest(m) => wit::LlmError::InvalidRequest(m),
            LlmError::Auth(m) => wit::LlmError::Auth(m),
            LlmError::RateLimited(s) => wit::LlmError::RateLimited(s),
            LlmError::ContextTooLong(m) => wit::LlmError::ContextTooLong(m),
            LlmError::Transient(m) => wit::LlmError::Transient(m),
            LlmError::Failed(m) => wit::LlmError::Failed(m),
            e @ LlmError::BudgetExhausted(_) => wit::LlmError::Failed(e.to_string()),
            e @ LlmError::CircuitOpen(_) => wit::LlmError::Transient(e.to_string()),
        }
    }
}
