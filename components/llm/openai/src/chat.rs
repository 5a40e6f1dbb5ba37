//! Chat Completions (`POST {base}/chat/completions`): our request as
//! OpenAI's JSON, and a whole (non-streaming) answer back as a completion.
//! The same format is spoken by OpenAI-compatible servers (Ollama, vLLM,
//! llama.cpp, LM Studio), which is why the parsing is lenient about
//! optional fields.

use llm_common::errors::malformed;
use llm_common::json;
use llm_common::{Completion, CompletionRequest, FinishReason, LlmError, Message, ToolCall, Usage};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::PROVIDER;

/// OpenAI refuses longer tool-call ids (another provider's, after a
/// failover, may be longer).
const MAX_ID_LEN: usize = 40;

/// OpenAI's reasoning models (o1, o3, o4, gpt-5) refuse `max_tokens` and
/// take `max_completion_tokens`; everything else, compatible servers
/// included, takes `max_tokens`.
fn max_tokens_field(model: &str) -> &'static str {
    let name = model.rsplit('/').next().unwrap_or(model);
    let reasoning = ["o1", "o3", "o4", "gpt-5"].iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-') || rest.starts_with('.'))
    });
    if reasoning {
        "max_completion_tokens"
    } else {
        "max_tokens"
    }
}

fn message(m: &Message) -> Value {
    match m {
        Message::System(text) => json!({ "role": "system", "content": text }),
        Message::User(text) => json!({ "role": "user", "content": text }),
        Message::Assistant(a) => {
            let mut out = Map::new();
            out.insert("role".into(), "assistant".into());
            // With tool calls and no text, OpenAI wants `content: null`.
            let content = if a.content.is_empty() && !a.tool_calls.is_empty() {
                Value::Null
            } else {
                Value::String(a.content.clone())
            };
            out.insert("content".into(), content);
            if !a.tool_calls.is_empty() {
                let calls = a
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({
                            "id": json::portable_id(&c.id, MAX_ID_LEN),
                            "type": "function",
                            "function": {
                                "name": c.name,
                                "arguments": if c.arguments.trim().is_empty() { "{}" } else { &c.arguments },
                            }
                        })
                    })
                    .collect();
                out.insert("tool_calls".into(), Value::Array(calls));
            }
            Value::Object(out)
        }
        Message::Tool(r) => json!({
            "role": "tool",
            "tool_call_id": json::portable_id(&r.tool_call_id, MAX_ID_LEN),
            "content": r.content,
        }),
    }
}

/// The request body. `stream` asks for server-sent events with the usage
/// in a final chunk.
pub fn request(req: &CompletionRequest, model: &str, stream: bool) -> Result<Value, LlmError> {
    if req.messages.is_empty() {
        return Err(LlmError::InvalidRequest(
            "a completion needs at least one message".into(),
        ));
    }
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert(
        "messages".into(),
        req.messages.iter().map(message).collect::<Vec<_>>().into(),
    );
    if !req.tools.is_empty() {
        let tools = req
            .tools
            .iter()
            .map(|t| {
                Ok(json!({
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": json::schema(&t.name, &t.parameters_schema)?,
                    }
                }))
            })
            .collect::<Result<Vec<_>, LlmError>>()?;
        body.insert("tools".into(), tools.into());
    }
    if let Some(n) = req.max_tokens {
        body.insert(max_tokens_field(model).into(), n.into());
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if !req.stop.is_empty() {
        body.insert("stop".into(), req.stop.clone().into());
    }
    if stream {
        body.insert("stream".into(), true.into());
        body.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    Ok(Value::Object(body))
}

/// `finish_reason` as ours. A reply with tool calls is a tool-call finish
/// even when a compatible server says `stop`.
pub fn finish_reason(reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    let reason = match reason {
        Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some("tool_calls" | "function_call") => FinishReason::ToolCalls,
        Some("content_filter") => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    };
    match reason {
        FinishReason::Stop | FinishReason::Other if has_tool_calls => FinishReason::ToolCalls,
        r => r,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct UsageJson {
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    #[serde(default)]
    pub completion_tokens: Option<u64>,
}

impl UsageJson {
    pub fn usage(&self) -> Usage {
        let clamp = |n: Option<u64>| u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX);
        Usage {
            input_tokens: clamp(self.prompt_tokens),
            output_tokens: clamp(self.completion_tokens),
        }
    }
}

/// Arguments arrive as a JSON string from OpenAI, as an object from some
/// compatible servers.
pub fn arguments(value: &Value) -> String {
    match value {
        Value::String(s) if s.trim().is_empty() => "{}".into(),
        Value::String(s) => s.clone(),
        other => json::arguments_text(other),
    }
}

#[derive(Debug, Deserialize)]
pub struct Response {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<UsageJson>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<CallJson>>,
}

#[derive(Debug, Deserialize)]
struct CallJson {
    #[serde(default)]
    id: Option<String>,
    function: FunctionJson,
}

#[derive(Debug, Deserialize)]
struct FunctionJson {
    name: String,
    #[serde(default)]
    arguments: Value,
}

/// A whole answer as a completion; `model` names the model asked when the
/// answer does not say.
pub fn completion(response: Response, model: &str) -> Result<Completion, LlmError> {
    let Some(choice) = response.choices.into_iter().next() else {
        return Err(malformed(PROVIDER, "no choices in the answer"));
    };
    let tool_calls: Vec<ToolCall> = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(n, c)| ToolCall {
            id: c
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{n}")),
            name: c.function.name,
            arguments: arguments(&c.function.arguments),
        })
        .collect();
    let refused = choice.message.content.is_none() && choice.message.refusal.is_some();
    let content = choice
        .message
        .content
        .or(choice.message.refusal)
        .unwrap_or_default();
    let finish = if refused {
        FinishReason::ContentFilter
    } else {
        finish_reason(choice.finish_reason.as_deref(), !tool_calls.is_empty())
    };
    Ok(Completion {
        content,
        finish_reason: finish,
        tool_calls,
        usage: response.usage.unwrap_or_default().usage(),
        model: response.model.unwrap_or_else(|| model.to_string()),
    })
}

/// Parses a whole answer's bytes.
pub fn parse(body: &[u8], model: &str) -> Result<Completion, LlmError> {
    let response: Response = serde_json::from_slice(body).map_err(|e| malformed(PROVIDER, e))?;
    completion(response, model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_common::errors::{kind, message as text};
    use llm_common::{AssistantMessage, ToolDefinition, ToolResult};

    pub(crate) fn conversation() -> CompletionRequest {
        CompletionRequest {
            messages: vec![
                Message::System("You are terse.".into()),
                Message::User("Weather in Paris?".into()),
                Message::Assistant(AssistantMessage {
                    content: String::new(),
                    tool_calls: vec![ToolCall {
                        id: "call_abc123".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    }],
                }),
                Message::Tool(ToolResult {
                    tool_call_id: "call_abc123".into(),
                    name: "get_weather".into(),
                    content: "18°C, cloudy".into(),
                    is_error: false,
                }),
            ],
            tools: vec![ToolDefinition {
                name: "get_weather".into(),
                description: "Current weather for a city".into(),
                parameters_schema: r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#.into(),
            }],
            model: None,
            temperature: Some(0.5),
            max_tokens: Some(256),
            stop: vec!["END".into()],
        }
    }

    #[test]
    fn builds_the_documented_request() {
        let body = request(&conversation(), "gpt-4o", false).unwrap();
        assert_eq!(
            body,
            json!({
                "model": "gpt-4o",
                "messages": [
                    {"role": "system", "content": "You are terse."},
                    {"role": "user", "content": "Weather in Paris?"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_abc123", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_abc123", "content": "18°C, cloudy"}
                ],
                "tools": [{"type": "function", "function": {
                    "name": "get_weather",
                    "description": "Current weather for a city",
                    "parameters": {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}
                }}],
                "max_tokens": 256,
                "temperature": 0.5,
                "stop": ["END"]
            })
        );
    }

    #[test]
    fn streaming_and_reasoning_models() {
        let body = request(&conversation(), "o3-mini", true).unwrap();
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
        assert_eq!(body["max_completion_tokens"], 256);
        assert!(body.get("max_tokens").is_none());
        assert_eq!(max_tokens_field("gpt-5-mini"), "max_completion_tokens");
        assert_eq!(max_tokens_field("gpt-4o"), "max_tokens");
        assert_eq!(max_tokens_field("llama3.2"), "max_tokens");
        assert_eq!(max_tokens_field("openchat"), "max_tokens");
        let mut bare = conversation();
        bare.tools.clear();
        bare.stop.clear();
        bare.max_tokens = None;
        bare.temperature = None;
        let body = request(&bare, "gpt-4o", false).unwrap();
        for absent in ["tools", "stop", "max_tokens", "temperature", "stream"] {
            assert!(body.get(absent).is_none(), "{absent}");
        }
    }

    #[test]
    fn foreign_ids_are_made_to_fit() {
        let mut req = conversation();
        let gemini_id = "call_0~sig:CiQB0e2KbWQ4ZTk1MjY2LTFiYzEtNGRiZC1hNDM2LTVhYjQwYzAwNzQzZQ==";
        if let Message::Assistant(a) = &mut req.messages[2] {
            a.tool_calls[0].id = gemini_id.into();
        }
        if let Message::Tool(r) = &mut req.messages[3] {
            r.tool_call_id = gemini_id.into();
        }
        let body = request(&req, "gpt-4o", false).unwrap();
        let call_id = &body["messages"][2]["tool_calls"][0]["id"];
        assert_eq!(call_id, &body["messages"][3]["tool_call_id"]);
        assert!(
            call_id
                .as_str()
                .is_some_and(|id| id.len() <= 40 && id.starts_with("call_"))
        );
    }

    #[test]
    fn bad_requests_are_refused_before_sending() {
        let mut req = conversation();
        req.tools[0].parameters_schema = "{not json".into();
        let e = request(&req, "gpt-4o", false).unwrap_err();
        assert_eq!(kind(&e), "invalid-request");
        assert!(text(&e).contains("get_weather"));
        req.messages.clear();
        assert_eq!(
            kind(&request(&req, "gpt-4o", false).unwrap_err()),
            "invalid-request"
        );
    }

    #[test]
    fn parses_a_text_answer() {
        let body = br#"{
          "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
          "object": "chat.completion",
          "created": 1741569952,
          "model": "gpt-4o-2024-08-06",
          "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null, "annotations": []},
            "logprobs": null,
            "finish_reason": "stop"
          }],
          "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0}},
          "service_tier": "default"
        }"#;
        let c = parse(body, "gpt-4o").unwrap();
        assert_eq!(c.content, "Hello! How can I assist you today?");
        assert!(matches!(c.finish_reason, FinishReason::Stop));
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (19, 10));
        assert_eq!(c.model, "gpt-4o-2024-08-06");
        assert!(c.tool_calls.is_empty());
    }

    #[test]
    fn parses_tool_calls() {
        let body = br#"{
          "id": "chatcmpl-abc123", "object": "chat.completion", "created": 1699896916, "model": "gpt-4o-mini",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
              {"id": "call_abc123", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\n\"location\": \"Boston, MA\"\n}"}},
              {"id": "call_def456", "type": "function", "function": {"name": "get_time", "arguments": ""}}
            ]}, "logprobs": null, "finish_reason": "tool_calls"}],
          "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99}
        }"#;
        let c = parse(body, "gpt-4o-mini").unwrap();
        assert_eq!(c.content, "");
        assert!(matches!(c.finish_reason, FinishReason::ToolCalls));
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].id, "call_abc123");
        assert_eq!(c.tool_calls[0].name, "get_current_weather");
        assert_eq!(
            c.tool_calls[0].arguments,
            "{\n\"location\": \"Boston, MA\"\n}"
        );
        assert_eq!(c.tool_calls[1].arguments, "{}");
    }

    #[test]
    fn compatible_servers_and_odd_answers() {
        // Ollama-style: object arguments, no ids, `stop` with tool calls, no usage.
        let body = br#"{"model":"llama3.2","choices":[{"index":0,"message":{"role":"assistant","content":"",
            "tool_calls":[{"function":{"name":"f","arguments":{"x":1}}}]},"finish_reason":"stop"}]}"#;
        let c = parse(body, "llama3.2").unwrap();
        assert!(matches!(c.finish_reason, FinishReason::ToolCalls));
        assert_eq!(c.tool_calls[0].id, "call_0");
        assert_eq!(c.tool_calls[0].arguments, r#"{"x":1}"#);
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (0, 0));
        let refusal = br#"{"choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#;
        let c = parse(refusal, "gpt-4o").unwrap();
        assert_eq!(c.content, "I can't help with that.");
        assert!(matches!(c.finish_reason, FinishReason::ContentFilter));
        assert_eq!(c.model, "gpt-4o");
        let length = br#"{"choices":[{"message":{"content":"cut"},"finish_reason":"length"}]}"#;
        assert!(matches!(
            parse(length, "m").unwrap().finish_reason,
            FinishReason::Length
        ));
        let filtered =
            br#"{"choices":[{"message":{"content":""},"finish_reason":"content_filter"}]}"#;
        assert!(matches!(
            parse(filtered, "m").unwrap().finish_reason,
            FinishReason::ContentFilter
        ));
    }

    #[test]
    fn malformed_answers_are_transient() {
        for body in [
            &b"{\"choices\": [{\"message\": {\"content\": \"Hel"[..],
            b"<html>502</html>",
            br#"{"choices": []}"#,
            br#"{"object": "chat.completion"}"#,
        ] {
            let e = parse(body, "gpt-4o").unwrap_err();
            assert_eq!(kind(&e), "transient");
            assert!(
                text(&e).contains("malformed response from openai"),
                "{}",
                text(&e)
            );
        }
    }
}
