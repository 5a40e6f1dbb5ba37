//! `generateContent` (and `streamGenerateContent?alt=sse`, same bodies):
//! our request as Gemini's JSON and its answers back.
//!
//! Gemini's function calls have no ids: a call gets `call_<n>`, its
//! position in the answer, and a tool result goes back as a
//! `functionResponse` naming the function (the result's `name`, else the
//! call's with that id). Gemini 3 requires a call's `thoughtSignature` to
//! come back with it; the adapter carries it inside the id
//! (`call_<n>~sig:<signature>`), the one field the host echoes unchanged.

use llm_common::errors::malformed;
use llm_common::json;
use llm_common::{Completion, CompletionRequest, FinishReason, LlmError, Message, ToolCall, Usage};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::PROVIDER;

/// Separates a call id from the thought signature it carries.
const SIGNATURE_MARK: &str = "~sig:";

/// A model name without the `models/` resource prefix.
pub fn bare_model(model: &str) -> &str {
    model.strip_prefix("models/").unwrap_or(model)
}

/// `{base}/models/{model}:generateContent`, or the streaming method.
pub fn path(model: &str, stream: bool) -> String {
    let method = if stream {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    };
    format!("/models/{}:{method}", bare_model(model))
}

/// The id a call gets: the provider's if it sent one, else `call_<n>`,
/// with the thought signature carried after [`SIGNATURE_MARK`].
pub fn call_id(provider_id: Option<&str>, n: usize, signature: Option<&str>) -> String {
    let id = match provider_id.filter(|id| !id.is_empty()) {
        Some(id) => id.to_string(),
        None => format!("call_{n}"),
    };
    match signature.filter(|s| !s.is_empty()) {
        Some(sig) => format!("{id}{SIGNATURE_MARK}{sig}"),
        None => id,
    }
}

fn split_id(id: &str) -> (&str, Option<&str>) {
    match id.split_once(SIGNATURE_MARK) {
        Some((id, sig)) => (id, Some(sig)),
        None => (id, None),
    }
}

/// The function a tool result answers: its own name, else the name of the
/// most recent call with its id.
fn function_name<'a>(messages: &'a [Message], before: usize, id: &str, name: &'a str) -> &'a str {
    if !name.is_empty() {
        return name;
    }
    messages[..before]
        .iter()
        .rev()
        .filter_map(|m| match m {
            Message::Assistant(a) => a.tool_calls.iter().find(|c| c.id == id),
            _ => None,
        })
        .map(|c| c.name.as_str())
        .next()
        .unwrap_or(name)
}

fn contents(messages: &[Message]) -> Vec<Value> {
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut push = |role: &'static str, part: Value| match out.last_mut() {
        Some((last, parts)) if *last == role => parts.push(part),
        _ => out.push((role, vec![part])),
    };
    for (i, m) in messages.iter().enumerate() {
        match m {
            Message::System(_) => {}
            Message::User(text) if text.is_empty() => {}
            Message::User(text) => push("user", json!({ "text": text })),
            Message::Assistant(a) => {
                if !a.content.is_empty() {
                    push("model", json!({ "text": a.content }));
                }
                for c in &a.tool_calls {
                    let (_, signature) = split_id(&c.id);
                    let mut part = json!({
                        "functionCall": { "name": c.name, "args": json::arguments_object(&c.arguments) }
                    });
                    if let Some(sig) = signature {
                        part["thoughtSignature"] = sig.into();
                    }
                    push("model", part);
                }
            }
            Message::Tool(r) => {
                let name = function_name(messages, i, &r.tool_call_id, &r.name);
                let response = if r.is_error {
                    json!({ "error": r.content })
                } else {
                    json!({ "content": r.content })
                };
                push(
                    "user",
                    json!({ "functionResponse": { "name": name, "response": response } }),
                );
            }
        }
    }
    for (_, parts) in out.iter_mut().filter(|(role, _)| *role == "user") {
        parts.sort_by_key(|p| p.get("functionResponse").is_none());
    }
    out.into_iter()
        .map(|(role, parts)| json!({ "role": role, "parts": parts }))
        .collect()
}

/// The request body (the same for both methods).
pub fn request(req: &CompletionRequest) -> Result<Value, LlmError> {
    let contents = contents(&req.messages);
    if contents.is_empty() {
        return Err(LlmError::InvalidRequest(
            "a completion needs at least one user, assistant or tool message".into(),
        ));
    }
    let mut body = Map::new();
    body.insert("contents".into(), contents.into());
    let system: Vec<Value> = req
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::System(s) if !s.trim().is_empty() => Some(json!({ "text": s })),
            _ => None,
        })
        .collect();
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system }));
    }
    if !req.tools.is_empty() {
        let declarations = req
            .tools
            .iter()
            .map(|t| {
                Ok(json!({
                    "name": t.name,
                    "description": t.description,
                    "parametersJsonSchema": json::schema(&t.name, &t.parameters_schema)?,
                }))
            })
            .collect::<Result<Vec<_>, LlmError>>()?;
        body.insert(
            "tools".into(),
            json!([{ "functionDeclarations": declarations }]),
        );
    }
    let mut config = Map::new();
    if let Some(n) = req.max_tokens {
        config.insert("maxOutputTokens".into(), n.into());
    }
    if let Some(t) = req.temperature {
        config.insert("temperature".into(), json!(t));
    }
    if !req.stop.is_empty() {
        config.insert("stopSequences".into(), req.stop.clone().into());
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    Ok(Value::Object(body))
}

/// `finishReason` as ours; calls in the answer make it a tool-call finish
/// (Gemini says `STOP`).
pub fn finish_reason(reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    match reason {
        Some("STOP") if has_tool_calls => FinishReason::ToolCalls,
        Some("STOP") => FinishReason::Stop,
        Some("MAX_TOKENS") => FinishReason::Length,
        Some(
            "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY"
            | "LANGUAGE",
        ) => FinishReason::ContentFilter,
        _ if has_tool_calls => FinishReason::ToolCalls,
        _ => FinishReason::Other,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub model_version: Option<String>,
    #[serde(default)]
    pub prompt_feedback: Option<PromptFeedback>,
    /// An error reported inside a stream.
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(default)]
    pub content: Option<Content>,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default)]
    pub index: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct Content {
    #[serde(default)]
    pub parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default)]
    pub text: Option<String>,
    /// A thought summary, not the answer.
    #[serde(default)]
    pub thought: Option<bool>,
    #[serde(default)]
    pub function_call: Option<FunctionCall>,
    #[serde(default)]
    pub thought_signature: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    #[serde(default)]
    pub args: Value,
    #[serde(default)]
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: Option<u64>,
    #[serde(default)]
    pub candidates_token_count: Option<u64>,
    #[serde(default)]
    pub thoughts_token_count: Option<u64>,
}

impl UsageMetadata {
    /// Thinking tokens are output the model produced (and is paid for).
    pub fn usage(&self) -> Usage {
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        Usage {
            input_tokens: clamp(self.prompt_token_count.unwrap_or(0)),
            output_tokens: clamp(
                self.candidates_token_count.unwrap_or(0) + self.thoughts_token_count.unwrap_or(0),
            ),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    #[serde(default)]
    pub block_reason: Option<String>,
}

impl Response {
    /// The first candidate (the one asked for).
    pub fn first(&mut self) -> Option<Candidate> {
        match self
            .candidates
            .iter()
            .position(|c| c.index.unwrap_or(0) == 0)
        {
            Some(i) => Some(self.candidates.swap_remove(i)),
            None => None,
        }
    }

    /// Whether the prompt itself was blocked.
    pub fn blocked(&self) -> bool {
        self.prompt_feedback
            .as_ref()
            .is_some_and(|f| f.block_reason.is_some())
    }
}

/// The text of answer parts, and their calls numbered from `first_call`.
pub fn read_parts(parts: Vec<Part>, first_call: usize) -> (String, Vec<ToolCall>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in parts {
        if let Some(call) = part.function_call {
            calls.push(ToolCall {
                id: call_id(
                    call.id.as_deref(),
                    first_call + calls.len(),
                    part.thought_signature.as_deref(),
                ),
                name: call.name,
                arguments: json::arguments_text(&call.args),
            });
        } else if let Some(t) = part.text.filter(|_| part.thought != Some(true)) {
            text.push_str(&t);
        }
    }
    (text, calls)
}

/// A whole answer as a completion.
pub fn completion(mut response: Response, model: &str) -> Result<Completion, LlmError> {
    let usage = response.usage_metadata.take().unwrap_or_default().usage();
    let model = response
        .model_version
        .take()
        .unwrap_or_else(|| bare_model(model).to_string());
    let blocked = response.blocked();
    let Some(candidate) = response.first() else {
        if blocked {
            return Ok(Completion {
                content: String::new(),
                tool_calls: Vec::new(),
                finish_reason: FinishReason::ContentFilter,
                usage,
                model,
            });
        }
        return Err(malformed(PROVIDER, "no candidates in the answer"));
    };
    let parts = candidate.content.map(|c| c.parts).unwrap_or_default();
    let (content, tool_calls) = read_parts(parts, 0);
    Ok(Completion {
        finish_reason: finish_reason(candidate.finish_reason.as_deref(), !tool_calls.is_empty()),
        content,
        tool_calls,
        usage,
        model,
    })
}

/// Parses a whole answer's bytes.
pub fn parse(body: &[u8], model: &str) -> Result<Completion, LlmError> {
    let response: Response = serde_json::from_slice(body).map_err(|e| malformed(PROVIDER, e))?;
    completion(response, model)
}

#[cfg(test)]
mod tests;
