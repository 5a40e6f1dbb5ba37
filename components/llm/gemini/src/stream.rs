//! `streamGenerateContent?alt=sse`: every event's `data:` is a whole
//! `GenerateContentResponse` holding the next piece — text parts are
//! deltas, a function call arrives whole in one part — and the last one
//! carries `finishReason` and the final `usageMetadata`. The stream simply
//! ends; there is no closing event.

use llm_common::errors::{malformed, stream_error};
use llm_common::fold::StreamFold;
use llm_common::{Completion, LlmError, SseEvent, ToolCall};

use crate::PROVIDER;
use crate::generate::{Response, UsageMetadata, bare_model, finish_reason, read_parts};

/// Folds a `streamGenerateContent` event stream.
#[derive(Debug)]
pub struct GenerateStream {
    requested: String,
    model: Option<String>,
    text: String,
    calls: Vec<ToolCall>,
    finish: Option<String>,
    usage: UsageMetadata,
    blocked: bool,
}

impl GenerateStream {
    /// `model` is the model asked, reported when the stream does not say.
    pub fn new(model: &str) -> GenerateStream {
        GenerateStream {
            requested: bare_model(model).to_string(),
            model: None,
            text: String::new(),
            calls: Vec::new(),
            finish: None,
            usage: UsageMetadata::default(),
            blocked: false,
        }
    }
}

impl StreamFold for GenerateStream {
    fn event(&mut self, event: &SseEvent, emit: &mut dyn FnMut(&str)) -> Result<(), LlmError> {
        if event.data.trim().is_empty() {
            return Ok(());
        }
        let mut response: Response =
            serde_json::from_str(&event.data).map_err(|e| malformed(PROVIDER, e))?;
        if let Some(error) = &response.error {
            return Err(stream_error(PROVIDER, error));
        }
        if let Some(model) = response.model_version.take() {
            self.model = Some(model);
        }
        if let Some(usage) = response.usage_metadata.take() {
            self.usage = usage;
        }
        self.blocked |= response.blocked();
        if let Some(candidate) = response.first() {
            let parts = candidate.content.map(|c| c.parts).unwrap_or_default();
            let (text, calls) = read_parts(parts, self.calls.len());
            if !text.is_empty() {
                emit(&text);
                self.text.push_str(&text);
            }
            self.calls.extend(calls);
            if let Some(reason) = candidate.finish_reason {
                self.finish = Some(reason);
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Completion, LlmError> {
        if self.finish.is_none() && !self.blocked {
            return Err(malformed(
                PROVIDER,
                "the event stream ended before a finishReason",
            ));
        }
        let finish_reason = if self.finish.is_none() {
            llm_common::FinishReason::ContentFilter
        } else {
            finish_reason(self.finish.as_deref(), !self.calls.is_empty())
        };
        Ok(Completion {
            content: self.text,
            tool_calls: self.calls,
            finish_reason,
            usage: self.usage.usage(),
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
            GenerateStream::new("models/gemini-2.0-flash"),
            body.as_bytes(),
            piece,
        )
    }

    const TEXT: &str = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"totalTokenCount\": 8},\"modelVersion\": \"gemini-2.0-flash\"}\r\n\r\n\
data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" sky is blue \u{1f30a}\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"totalTokenCount\": 12},\"modelVersion\": \"gemini-2.0-flash\"}\r\n\r\n\
data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \".\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"candidatesTokenCount\": 6,\"totalTokenCount\": 14},\"modelVersion\": \"gemini-2.0-flash\"}\r\n\r\n";

    #[test]
    fn streams_text_over_any_split() {
        for piece in [1, 3, 8, 4096] {
            let (c, chunks) = run(TEXT, piece);
            let c = c.unwrap();
            assert_eq!(
                chunks,
                ["The", " sky is blue \u{1f30a}", "."],
                "piece {piece}"
            );
            assert_eq!(c.content, "The sky is blue \u{1f30a}.");
            assert!(matches!(c.finish_reason, FinishReason::Stop));
            assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (8, 6));
            assert_eq!(c.model, "gemini-2.0-flash");
        }
    }

    #[test]
    fn function_calls_arrive_whole_and_are_numbered_across_events() {
        let body = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Checking.\"}]},\"index\":0}]}\n\n\
data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},\"thoughtSignature\":\"sig\"}]},\"index\":0}]}\n\n\
data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_time\",\"args\":{}}}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":30,\"candidatesTokenCount\":12}}\n\n";
        let (c, chunks) = run(body, 5);
        let c = c.unwrap();
        assert_eq!(chunks, ["Checking."]);
        assert!(matches!(c.finish_reason, FinishReason::ToolCalls));
        let ids: Vec<&str> = c.tool_calls.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["call_0~sig:sig", "call_1"]);
        assert_eq!(c.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(c.model, "gemini-2.0-flash");
    }

    #[test]
    fn truncated_streams_and_errors() {
        let cut = &TEXT[..TEXT.find("\"finishReason\"").unwrap_or(0)];
        let cut = &cut[..cut.rfind("\r\n\r\n").unwrap_or(0) + 4];
        let (e, chunks) = run(cut, 4096);
        let e = e.unwrap_err();
        assert_eq!(kind(&e), "transient");
        assert!(message(&e).contains("ended before a finishReason"));
        assert_eq!(chunks.concat(), "The sky is blue \u{1f30a}");
        let error = "data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\", \"status\": \"UNAVAILABLE\"}}\n\n";
        let (e, _) = run(error, 4096);
        let e = e.unwrap_err();
        assert_eq!(kind(&e), "transient");
        assert!(message(&e).contains("overloaded"));
        let (e, _) = run("data: {\"candidates\": [\n\n", 4096);
        assert!(message(&e.unwrap_err()).contains("malformed response from gemini"));
    }

    #[test]
    fn a_blocked_prompt_ends_without_a_finish_reason() {
        let body = "data: {\"promptFeedback\": {\"blockReason\": \"PROHIBITED_CONTENT\"}, \"usageMetadata\": {\"promptTokenCount\": 5}}\n\n";
        let (c, chunks) = run(body, 4096);
        let c = c.unwrap();
        assert!(chunks.is_empty());
        assert!(matches!(c.finish_reason, FinishReason::ContentFilter));
    }
}
