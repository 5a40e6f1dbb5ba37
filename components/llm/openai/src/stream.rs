//! Streaming Chat Completions: `chat.completion.chunk` events, each a
//! `data:` line of JSON, ending with `data: [DONE]`. Text arrives in
//! `choices[0].delta.content`; tool calls in `delta.tool_calls[]` keyed by
//! `index` (id and name in the first delta, then argument fragments); with
//! `stream_options.include_usage` a last chunk with no choices carries the
//! usage.

use llm_common::errors::{malformed, stream_error};
use llm_common::fold::{PartialCalls, StreamFold};
use llm_common::{Completion, FinishReason, LlmError, SseEvent};
use serde::Deserialize;
use serde_json::Value;

use crate::PROVIDER;
use crate::chat::{UsageJson, arguments, finish_reason};

#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<UsageJson>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    index: u64,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<DeltaCall>>,
}

#[derive(Debug, Deserialize)]
struct DeltaCall {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<DeltaFunction>,
}

#[derive(Debug, Deserialize)]
struct DeltaFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

/// Folds a Chat Completions event stream.
#[derive(Debug)]
pub struct ChatStream {
    requested: String,
    model: Option<String>,
    text: String,
    refusal: String,
    calls: PartialCalls,
    /// The index of the last call a delta touched, for servers that leave
    /// `index` out.
    last_call: Option<u64>,
    finish: Option<String>,
    usage: UsageJson,
    done: bool,
}

impl ChatStream {
    /// `model` is the model asked, reported when the stream does not say.
    pub fn new(model: &str) -> ChatStream {
        ChatStream {
            requested: model.to_string(),
            model: None,
            text: String::new(),
            refusal: String::new(),
            calls: PartialCalls::default(),
            last_call: None,
            finish: None,
            usage: UsageJson::default(),
            done: false,
        }
    }

    fn call_delta(&mut self, d: DeltaCall) {
        let index = match (d.index, self.last_call) {
            (Some(i), _) => i,
            (None, None) => 0,
            // No index: a new id starts a new call, anything else continues
            // the last one.
            (None, Some(last)) => {
                let current = &self.calls.at(last).id;
                match d.id.as_deref() {
                    Some(id) if !id.is_empty() && !current.is_empty() && current != id => last + 1,
                    _ => last,
                }
            }
        };
        self.last_call = Some(index);
        let call = self.calls.at(index);
        if let Some(id) = d.id.filter(|id| !id.is_empty()) {
            call.id = id;
        }
        if let Some(f) = d.function {
            if let Some(name) = f.name.filter(|n| !n.is_empty()) {
                call.name = name;
            }
            match f.arguments {
                Some(Value::String(s)) => call.arguments.push_str(&s),
                Some(Value::Null) | None => {}
                Some(other) => call.arguments = arguments(&other),
            }
        }
    }
}

impl StreamFold for ChatStream {
    fn event(&mut self, event: &SseEvent, emit: &mut dyn FnMut(&str)) -> Result<(), LlmError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| malformed(PROVIDER, e))?;
        if let Some(error) = chunk.error {
            return Err(stream_error(PROVIDER, &error));
        }
        if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
            self.model = Some(model);
        }
        if let Some(usage) = chunk.usage {
            self.usage = usage;
        }
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    emit(&text);
                    self.text.push_str(&text);
                }
                if let Some(refusal) = delta.refusal {
                    self.refusal.push_str(&refusal);
                }
                for call in delta.tool_calls.unwrap_or_default() {
                    self.call_delta(call);
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finish = Some(reason);
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Completion, LlmError> {
        if !self.done && self.finish.is_none() {
            return Err(malformed(
                PROVIDER,
                "the event stream ended before its last chunk (no finish_reason, no [DONE])",
            ));
        }
        let tool_calls = self.calls.into_calls();
        let refused = self.text.is_empty() && !self.refusal.is_empty();
        let finish_reason = if refused {
            FinishReason::ContentFilter
        } else {
            finish_reason(self.finish.as_deref(), !tool_calls.is_empty())
        };
        Ok(Completion {
            content: if refused { self.refusal } else { self.text },
            finish_reason,
            tool_calls,
            usage: self.usage.usage(),
            model: self.model.unwrap_or(self.requested),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_common::errors::{kind, message};
    use llm_common::fold::fold_bytes;

    fn run(body: &str) -> (Result<Completion, LlmError>, Vec<String>) {
        fold_bytes(PROVIDER, ChatStream::new("gpt-4o"), body.as_bytes(), 4096)
    }

    /// Every split of the body gives the same completion and text.
    fn run_every_split(body: &str) -> (Completion, Vec<String>) {
        let (whole, chunks) = run(body);
        let whole = whole.unwrap();
        for piece in [1, 2, 3, 7, 64] {
            let (c, ch) = fold_bytes(PROVIDER, ChatStream::new("gpt-4o"), body.as_bytes(), piece);
            let c = c.unwrap();
            assert_eq!(c.content, whole.content, "piece {piece}");
            assert_eq!(c.tool_calls.len(), whole.tool_calls.len());
            assert_eq!(ch.concat(), chunks.concat());
        }
        (whole, chunks)
    }

    const TEXT: &str = r#"data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" there, é!"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}

data: [DONE]

"#;

    #[test]
    fn streams_text_in_order_with_usage() {
        let (c, chunks) = run_every_split(TEXT);
        assert_eq!(chunks, ["Hello", " there, é!"]);
        assert_eq!(c.content, "Hello there, é!");
        assert!(matches!(c.finish_reason, FinishReason::Stop));
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (9, 3));
        assert_eq!(c.model, "gpt-4o-mini");
    }

    #[test]
    fn assembles_tool_calls_from_deltas() {
        let body = r#"data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}

data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\""}}]},"finish_reason":null}]}

data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"location"}}]},"finish_reason":null}]}

data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\":\"Paris\"}"}}]},"finish_reason":null}]}

data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":""}}]},"finish_reason":null}]}

data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":20,"total_tokens":70}}

data: [DONE]

"#;
        let (c, chunks) = run_every_split(body);
        assert!(chunks.is_empty());
        assert!(matches!(c.finish_reason, FinishReason::ToolCalls));
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].id, "call_DdmO9pD3xa9XTPNJ32zg2hcA");
        assert_eq!(c.tool_calls[0].name, "get_weather");
        assert_eq!(c.tool_calls[0].arguments, r#"{"location":"Paris"}"#);
        assert_eq!(c.tool_calls[1].name, "get_time");
        assert_eq!(c.tool_calls[1].arguments, "{}");
        assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (50, 20));
    }

    #[test]
    fn calls_without_index_from_compatible_servers() {
        let body = r#"data: {"model":"llama3.2","choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\":"}}]}}]}

data: {"model":"llama3.2","choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"1}"}}]}}]}

data: {"model":"llama3.2","choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":{"y":2}}}]}}]}

data: {"model":"llama3.2","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

data: [DONE]

"#;
        let (c, _) = run_every_split(body);
        assert_eq!(c.tool_calls.len(), 2, "{:?}", c.tool_calls);
        assert_eq!(
            (
                c.tool_calls[0].id.as_str(),
                c.tool_calls[0].arguments.as_str()
            ),
            ("a", r#"{"x":1}"#)
        );
        assert_eq!(
            (
                c.tool_calls[1].name.as_str(),
                c.tool_calls[1].arguments.as_str()
            ),
            ("g", r#"{"y":2}"#)
        );
        assert!(matches!(c.finish_reason, FinishReason::ToolCalls));
    }

    #[test]
    fn truncated_and_malformed_streams_are_transient() {
        // Cut before the finish chunk and [DONE].
        let cut = &TEXT[..TEXT.find("\"finish_reason\":\"stop\"").unwrap_or(0)];
        let cut = &cut[..cut.rfind("\n\n").unwrap_or(0) + 2];
        let (e, chunks) = run(cut);
        let e = e.unwrap_err();
        assert_eq!(kind(&e), "transient");
        assert!(message(&e).contains("ended before"), "{}", message(&e));
        assert_eq!(chunks, ["Hello", " there, é!"]);
        // A chunk that is not JSON.
        let (e, _) = run("data: {\"choices\": [\n\n");
        assert!(message(&e.unwrap_err()).contains("malformed response from openai"));
        // Not an event stream at all.
        let (e, _) = run("{\"id\": \"chatcmpl-1\", \"choices\": []}");
        assert!(message(&e.unwrap_err()).contains("expected server-sent events"));
    }

    #[test]
    fn errors_inside_the_stream() {
        let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n\
                    data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\"}}\n\n";
        let (e, chunks) = run(body);
        let e = e.unwrap_err();
        assert_eq!(kind(&e), "transient");
        assert!(message(&e).contains("The server had an error"));
        assert_eq!(chunks, ["Hi"]);
    }
}
