//! Streaming Messages: `message_start` (model, input usage), then per
//! content block `content_block_start` / `content_block_delta` (`text_delta`,
//! `input_json_delta` fragments of a tool's input) / `content_block_stop`,
//! then `message_delta` (stop reason, output usage) and `message_stop`.
//! `ping` events come any time; an `error` event ends the stream.

use llm_common::errors::{malformed, stream_error};
use llm_common::fold::{PartialCalls, StreamFold};
use llm_common::{Completion, LlmError, SseEvent, Usage, json};
use serde::Deserialize;
use serde_json::Value;

use crate::PROVIDER;
use crate::messages::{Block, UsageJson, clamp, finish_reason};

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u64,
        content_block: Block,
    },
    ContentBlockDelta {
        index: u64,
        delta: Delta,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<UsageJson>,
    },
    MessageStop,
    Error {
        error: Value,
    },
    /// `ping`, `content_block_stop`, and whatever a later API version adds.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct StartMessage {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: UsageJson,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Delta {
    #[serde(rename = "text_delta")]
    Text { text: String },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: String },
    /// Thinking and signature deltas: not part of the answer.
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// Folds a Messages event stream.
#[derive(Debug)]
pub struct MessagesStream {
    requested: String,
    model: Option<String>,
    text: String,
    calls: PartialCalls,
    /// A tool block's `input` as `content_block_start` gave it, used when
    /// no `input_json_delta` follows.
    start_inputs: Vec<(u64, Value)>,
    stop_reason: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    stopped: bool,
}

impl MessagesStream {
    /// `model` is the model asked, reported when the stream does not say.
    pub fn new(model: &str) -> MessagesStream {
        MessagesStream {
            requested: model.to_string(),
            model: None,
            text: String::new(),
            calls: PartialCalls::default(),
            start_inputs: Vec::new(),
            stop_reason: None,
            input_tokens: None,
            output_tokens: None,
            stopped: false,
        }
    }

    fn usage(&mut self, usage: &UsageJson) {
        if let Some(n) = usage.input() {
            self.input_tokens = Some(n);
        }
        if let Some(n) = usage.output_tokens {
            self.output_tokens = Some(n);
        }
    }
}

impl StreamFold for MessagesStream {
    fn event(&mut self, event: &SseEvent, emit: &mut dyn FnMut(&str)) -> Result<(), LlmError> {
        if event.data.trim().is_empty() {
            return Ok(());
        }
        let parsed: Event =
            serde_json::from_str(&event.data).map_err(|e| malformed(PROVIDER, e))?;
        match parsed {
            Event::MessageStart { message } => {
                self.model = message.model.filter(|m| !m.is_empty());
                self.usage(&message.usage);
            }
            Event::ContentBlockStart {
                index,
                content_block,
            } => {
                if let Block::ToolUse { id, name, input } = content_block {
                    let call = self.calls.at(index);
                    call.id = id;
                    call.name = name;
                    if input.as_object().is_some_and(|o| !o.is_empty()) {
                        self.start_inputs.push((index, input));
                    }
                } else if let Block::Text { text } = content_block {
                    // The start block's text is empty in practice; keep it
                    // if a server sends some.
                    if !text.is_empty() {
                        emit(&text);
                        self.text.push_str(&text);
                    }
                }
            }
            Event::ContentBlockDelta { index, delta } => match delta {
                Delta::Text { text } => {
                    emit(&text);
                    self.text.push_str(&text);
                }
                Delta::InputJson { partial_json } => {
                    self.calls.at(index).arguments.push_str(&partial_json);
                }
                Delta::Other => {}
            },
            Event::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    self.stop_reason = Some(reason);
                }
                if let Some(usage) = usage {
                    self.usage(&usage);
                }
            }
            Event::MessageStop => self.stopped = true,
            Event::Error { error } => return Err(stream_error(PROVIDER, &error)),
            Event::Other => {}
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Completion, LlmError> {
        if !self.stopped {
            return Err(malformed(
                PROVIDER,
                "the event stream ended before message_stop",
            ));
        }
        for (index, input) in std::mem::take(&mut self.start_inputs) {
            let call = self.calls.at(index);
            if call.arguments.trim().is_empty() {
                call.arguments = json::arguments_text(&input);
            }
        }
        Ok(Completion {
            content: self.text,
            tool_calls: self.calls.into_calls(),
            finish_reason: finish_reason(self.stop_reason.as_deref()),
            usage: Usage {
                input_tokens: clamp(self.input_tokens),
                output_tokens: clamp(self.output_tokens),
            },
            model: self.model.unwrap_or(self.requested),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_common::FinishReason;
    use llm_common::errors::{kind, message};
    use llm_common::fold::fold_bytes;

    fn run(body: &str, piece: usize) -> (Result<Completion, LlmError>, Vec<String>) {
        fold_bytes(
            PROVIDER,
            MessagesStream::new("claude"),
            body.as_bytes(),
            piece,
        )
    }

    /// The documented example, tool use included, with CRLF line ends.
    const TOOL_USE: &str = "event: message_start\r\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2},\"content\":[],\"stop_reason\":null}}\r\n\r\n\
event: content_block_start\r\n\
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n\r\n\
event: ping\r\n\
data: {\"type\": \"ping\"}\r\n\r\n\
event: content_block_delta\r\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay, let's check\"}}\r\n\r\n\
event: content_block_delta\r\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" the weather.\"}}\r\n\r\n\
event: content_block_stop\r\n\
data: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n\
event: content_block_start\r\n\
data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}\r\n\r\n\
event: content_block_delta\r\n\
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\r\n\r\n\
event: content_block_delta\r\n\
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\r\n\r\n\
event: content_block_delta\r\n\
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"San Francisco, CA\\\"}\"}}\r\n\r\n\
event: content_block_stop\r\n\
data: {\"type\":\"content_block_stop\",\"index\":1}\r\n\r\n\
event: message_delta\r\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\r\n\r\n\
event: message_stop\r\n\
data: {\"type\":\"message_stop\"}\r\n\r\n";

    #[test]
    fn streams_text_and_assembles_tool_input_over_any_split() {
        for piece in [1, 2, 5, 13, 4096] {
            let (c, chunks) = run(TOOL_USE, piece);
            let c = c.unwrap();
            assert_eq!(
                chunks,
                ["Okay, let's check", " the weather."],
                "piece {piece}"
            );
            assert_eq!(c.content, "Okay, let's check the weather.");
            assert!(matches!(c.finish_reason, FinishReason::ToolCalls));
            assert_eq!(c.tool_calls.len(), 1);
            assert_eq!(c.tool_calls[0].id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
            assert_eq!(c.tool_calls[0].name, "get_weather");
            let args: Value = serde_json::from_str(&c.tool_calls[0].arguments).unwrap();
            assert_eq!(args, serde_json::json!({"location": "San Francisco, CA"}));
            assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (472, 89));
            assert_eq!(c.model, "claude-sonnet-4-20250514");
        }
    }

    #[test]
    fn a_tool_without_input_deltas_keeps_its_start_input() {
        let body = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"now\",\"input\":{}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"echo\",\"input\":{\"text\":\"hi\"}}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":7}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let (c, _) = run(body, 4096);
        let c = c.unwrap();
        assert_eq!(c.tool_calls[0].arguments, "{}");
        assert_eq!(c.tool_calls[1].arguments, r#"{"text":"hi"}"#);
    }

    #[test]
    fn thinking_and_unknown_events_are_skipped() {
        let body = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQB\"}}\n\n\
event: something_new\ndata: {\"type\":\"something_new\"}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"42\"}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":3}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let (c, chunks) = run(body, 7);
        let c = c.unwrap();
        assert_eq!(chunks, ["42"]);
        assert_eq!(c.content, "42");
        assert!(matches!(c.finish_reason, FinishReason::Length));
        assert!(c.tool_calls.is_empty());
    }

    #[test]
    fn an_error_event_ends_the_stream() {
        let body = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":5}}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n\
event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let (e, chunks) = run(body, 4096);
        let e = e.unwrap_err();
        assert_eq!(kind(&e), "transient");
        assert!(message(&e).contains("Overloaded"));
        assert_eq!(chunks, ["Hel"]);
    }

    #[test]
    fn truncated_or_garbled_streams_are_malformed() {
        let cut = &TOOL_USE[..TOOL_USE.find("event: message_delta").unwrap_or(0)];
        let (e, _) = run(cut, 4096);
        let e = e.unwrap_err();
        assert_eq!(kind(&e), "transient");
        assert!(
            message(&e).contains("ended before message_stop"),
            "{}",
            message(&e)
        );
        let (e, _) = run(
            "event: message_start\ndata: {\"type\":\"message_start\",\n\n",
            4096,
        );
        assert!(message(&e.unwrap_err()).contains("malformed response from anthropic"));
    }
}
