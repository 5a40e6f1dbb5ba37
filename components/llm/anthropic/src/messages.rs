//! The Messages API (`POST {base}/messages`): our request as Anthropic's
//! JSON, and a whole (non-streaming) answer back as a completion.
//!
//! System messages become the top-level `system`; the conversation is
//! content blocks (`text`, `tool_use`, `tool_result`) in alternating
//! user/assistant messages, so consecutive messages of one role — a turn's
//! tool results above all — are merged into one, tool results first.

use llm_common::errors::malformed;
use llm_common::json;
use llm_common::{Completion, CompletionRequest, FinishReason, LlmError, Message, ToolCall, Usage};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::PROVIDER;

/// The API version this adapter speaks (`anthropic-version` header).
pub const API_VERSION: &str = "2023-06-01";
/// Tool-use ids must be `[A-Za-z0-9_-]+`; another provider's ids (after a
/// failover) are mapped to fit.
const MAX_ID_LEN: usize = 64;
/// `max_tokens` is required; this is sent when the request names none.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Messages as (role, content blocks), consecutive roles merged.
fn conversation(messages: &[Message]) -> Vec<(&'static str, Vec<Value>)> {
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut push = |role: &'static str, block: Value| match out.last_mut() {
        Some((last, blocks)) if *last == role => blocks.push(block),
        _ => out.push((role, vec![block])),
    };
    for m in messages {
        match m {
            Message::System(_) => {}
            // Empty text blocks are refused by the API.
            Message::User(text) if text.is_empty() => {}
            Message::User(text) => push("user", json!({ "type": "text", "text": text })),
            Message::Assistant(a) => {
                if !a.content.is_empty() {
                    push("assistant", json!({ "type": "text", "text": a.content }));
                }
                for c in &a.tool_calls {
                    push(
                        "assistant",
                        json!({
                            "type": "tool_use",
                            "id": json::portable_id(&c.id, MAX_ID_LEN),
                            "name": c.name,
                            "input": json::arguments_object(&c.arguments),
                        }),
                    );
                }
            }
            Message::Tool(r) => {
                let mut block = json!({
                    "type": "tool_result",
                    "tool_use_id": json::portable_id(&r.tool_call_id, MAX_ID_LEN),
                    "content": r.content,
                });
                if r.is_error {
                    block["is_error"] = true.into();
                }
                push("user", block);
            }
        }
    }
    // In a user message, tool results come before any text.
    for (_, blocks) in out.iter_mut().filter(|(role, _)| *role == "user") {
        blocks.sort_by_key(|b| b["type"] != "tool_result");
    }
    out
}

/// The request body.
pub fn request(req: &CompletionRequest, model: &str, stream: bool) -> Result<Value, LlmError> {
    let messages = conversation(&req.messages);
    if messages.is_empty() {
        return Err(LlmError::InvalidRequest(
            "a completion needs at least one user, assistant or tool message".into(),
        ));
    }
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert(
        "max_tokens".into(),
        req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS).into(),
    );
    let system: Vec<&str> = req
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::System(s) if !s.trim().is_empty() => Some(s.as_str()),
            _ => None,
        })
        .collect();
    if !system.is_empty() {
        body.insert("system".into(), system.join("\n\n").into());
    }
    body.insert(
        "messages".into(),
        messages
            .into_iter()
            .map(|(role, content)| json!({ "role": role, "content": content }))
            .collect::<Vec<_>>()
            .into(),
    );
    if !req.tools.is_empty() {
        let tools = req
            .tools
            .iter()
            .map(|t| {
                Ok(json!({
                    "name": t.name,
                    "description": t.description,
                    "input_schema": json::schema(&t.name, &t.parameters_schema)?,
                }))
            })
            .collect::<Result<Vec<_>, LlmError>>()?;
        body.insert("tools".into(), tools.into());
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), req.stop.clone().into());
    }
    if stream {
        body.insert("stream".into(), true.into());
    }
    Ok(Value::Object(body))
}

/// `stop_reason` as ours.
pub fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("end_turn" | "stop_sequence") => FinishReason::Stop,
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct UsageJson {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl UsageJson {
    /// Input counts cached tokens too: it is what the context held.
    pub fn input(&self) -> Option<u64> {
        self.input_tokens.map(|n| {
            n + self.cache_creation_input_tokens.unwrap_or(0)
                + self.cache_read_input_tokens.unwrap_or(0)
        })
    }
}

pub fn clamp(n: Option<u64>) -> u32 {
    u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX)
}

/// A content block of an answer.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Thinking, redacted thinking, server tool results …: not ours.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub struct Response {
    #[serde(default)]
    model: Option<String>,
    content: Vec<Block>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: UsageJson,
}

/// A whole answer as a completion.
pub fn completion(response: Response, model: &str) -> Completion {
    let mut content = String::new();
    let mut tool_calls = Vec::new();
    for block in response.content {
        match block {
            Block::Text { text } => content.push_str(&text),
            Block::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                name,
                arguments: json::arguments_text(&input),
            }),
            Block::Other => {}
        }
    }
    Completion {
        content,
        tool_calls,
        finish_reason: finish_reason(response.stop_reason.as_deref()),
        usage: Usage {
            input_tokens: clamp(response.usage.input()),
            output_tokens: clamp(response.usage.output_tokens),
        },
        model: response.model.unwrap_or_else(|| model.to_string()),
    }
}

/// Parses a whole answer's bytes.
pub fn parse(body: &[u8], model: &str) -> Result<Completion, LlmError> {
    let response: Response = serde_json::from_slice(body).map_err(|e| malformed(PROVIDER, e))?;
    Ok(completion(response, model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_common::errors::{kind, message};
    use llm_common::{AssistantMessage, ToolDefinition, ToolResult};

    fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    fn result(id: &str, content: &str, is_error: bool) -> Message {
        Message::Tool(ToolResult {
            tool_call_id: id.into(),
            name: "get_weather".into(),
            content: content.into(),
            is_error,
        })
    }

    fn conversation_request() -> CompletionRequest {
        CompletionRequest {
            messages: vec![
                Message::System("You are terse.".into()),
                Message::System("Answer in French.".into()),
                Message::User("Weather in Paris and Lyon?".into()),
                Message::Assistant(AssistantMessage {
                    content: "Let me check.".into(),
                    tool_calls: vec![
                        call("toolu_01A", "get_weather", r#"{"city":"Paris"}"#),
                        call("toolu_01B", "get_weather", ""),
                    ],
                }),
                result("toolu_01A", "18°C", false),
                result("toolu_01B", "city missing", true),
                Message::User("Thanks".into()),
            ],
            tools: vec![ToolDefinition {
                name: "get_weather".into(),
                description: "Current weather".into(),
                parameters_schema: r#"{"type":"object","properties":{"city":{"type":"string"}}}"#
                    .into(),
            }],
            model: None,
            temperature: Some(0.25),
            max_tokens: None,
            stop: vec!["\n\nHuman:".into()],
        }
    }

    #[test]
    fn builds_the_documented_request() {
        let body = request(&conversation_request(), "claude-sonnet-4-20250514", false).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "claude-sonnet-4-20250514",
                "max_tokens": 4096,
                "system": "You are terse.\n\nAnswer in French.",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Lyon?"}]},
                    {"role": "assistant", "content": [
                        {"type": "text", "text": "Let me check."},
                        {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
                        {"type": "tool_use", "id": "toolu_01B", "name": "get_weather", "input": {}}
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18°C"},
                        {"type": "tool_result", "tool_use_id": "toolu_01B", "content": "city missing", "is_error": true},
                        {"type": "text", "text": "Thanks"}
                    ]}
                ],
                "tools": [{"name": "get_weather", "description": "Current weather",
                           "input_schema": {"type":"object","properties":{"city":{"type":"string"}}}}],
                "temperature": 0.25,
                "stop_sequences": ["\n\nHuman:"]
            })
        );
        let streaming = request(&conversation_request(), "claude-3-5-haiku-latest", true).unwrap();
        assert_eq!(streaming["stream"], true);
    }

    #[test]
    fn tool_results_go_before_text_and_empty_messages_are_dropped() {
        let req = CompletionRequest {
            messages: vec![
                Message::User("a".into()),
                Message::Assistant(AssistantMessage {
                    content: String::new(),
                    tool_calls: Vec::new(),
                }),
                Message::User(String::new()),
                result("t1", "r", false),
            ],
            tools: Vec::new(),
            model: None,
            temperature: None,
            max_tokens: Some(10),
            stop: Vec::new(),
        };
        let body = request(&req, "claude-x", false).unwrap();
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "r"},
                {"type": "text", "text": "a"}
            ]}])
        );
        assert_eq!(body["max_tokens"], 10);
        assert!(body.get("system").is_none() && body.get("tools").is_none());
        let only_system = CompletionRequest {
            messages: vec![Message::System("s".into())],
            ..req
        };
        assert_eq!(
            kind(&request(&only_system, "m", false).unwrap_err()),
            "invalid-request"
        );
    }

    #[test]
    fn foreign_ids_are_made_to_fit() {
        let id = "call_0~sig:CiQB0e2Kb+/=";
        let req = CompletionRequest {
            messages: vec![
                Message::User("a".into()),
                Message::Assistant(AssistantMessage {
                    content: String::new(),
                    tool_calls: vec![call(id, "f", "{}")],
                }),
                result(id, "r", false),
            ],
            tools: Vec::new(),
            model: None,
            temperature: None,
            max_tokens: None,
            stop: Vec::new(),
        };
        let body = request(&req, "claude-x", false).unwrap();
        let use_id = &body["messages"][1]["content"][0]["id"];
        assert_eq!(use_id, &body["messages"][2]["content"][0]["tool_use_id"]);
        let use_id = use_id.as_str().unwrap_or_default();
        assert!(
            use_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{use_id}"
        );
    }

    #[test]
    fn parses_a_text_answer() {
        let body = br#"{
          "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant",
          "model": "claude-sonnet-4-20250514",
          "content": [{"type": "text", "text": "Hi! My name is Claude."}],
          "stop_reason": "end_turn", "stop_sequence": null,
          "usage": {"input_tokens": 2095, "output_tokens": 503,
                    "cache_creation_input_tokens": 100, "cache_read_input_tokens": 5}
        }"#;
        let c = parse(body, "claude").unwrap();
        assert_eq!(c.content, "Hi! My name is Claude.");
        assert!(matches!(c.finish_reason, FinishReason::Stop));
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (2200, 503));
        assert_eq!(c.model, "claude-sonnet-4-20250514");
    }

    #[test]
    fn parses_tool_use() {
        let body = br#"{
          "id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant", "model": "claude-opus-4-1",
          "stop_reason": "tool_use",
          "content": [
            {"type": "thinking", "thinking": "The user wants...", "signature": "abc"},
            {"type": "text", "text": "I'll check the weather."},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
             "input": {"location": "San Francisco, CA", "unit": "celsius"}}
          ],
          "usage": {"input_tokens": 472, "output_tokens": 91}
        }"#;
        let c = parse(body, "claude").unwrap();
        assert_eq!(c.content, "I'll check the weather.");
        assert!(matches!(c.finish_reason, FinishReason::ToolCalls));
        assert_eq!(c.tool_calls.len(), 1);
        assert_eq!(c.tool_calls[0].id, "toolu_01A09q90qw90lq917835lq9");
        let args: Value = serde_json::from_str(&c.tool_calls[0].arguments).unwrap();
        assert_eq!(
            args,
            json!({"location": "San Francisco, CA", "unit": "celsius"})
        );
    }

    #[test]
    fn stop_reasons() {
        use FinishReason as F;
        let f = |r| finish_reason(Some(r));
        assert!(matches!(f("end_turn"), F::Stop));
        assert!(matches!(f("stop_sequence"), F::Stop));
        assert!(matches!(f("max_tokens"), F::Length));
        assert!(matches!(f("tool_use"), F::ToolCalls));
        assert!(matches!(f("refusal"), F::ContentFilter));
        assert!(matches!(f("pause_turn"), F::Other));
        assert!(matches!(finish_reason(None), F::Other));
    }

    #[test]
    fn malformed_answers_are_transient() {
        for body in [
            &br#"{"content": [{"type": "text", "text": "Hel"#[..],
            br#"{"type": "message"}"#,
            br#"{"content": [{"type": "tool_use", "id": "x"}]}"#,
        ] {
            let e = parse(body, "claude").unwrap_err();
            assert_eq!(kind(&e), "transient");
            assert!(message(&e).contains("malformed response from anthropic"));
        }
    }
}
