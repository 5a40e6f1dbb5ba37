//! Streaming completions: each provider folds its server-sent events into a
//! [`Completion`], handing text deltas out in order as they come. The
//! [`SseFold`] driver runs a fold over raw body bytes, however they are
//! split, so the whole path from bytes to completion is tested natively.

use std::collections::BTreeMap;

use crate::errors::{malformed, truncate};
use crate::{Completion, LlmError, SseEvent, SseParser, ToolCall};

/// One provider's streaming wire format.
pub trait StreamFold {
    /// One event. Text deltas of the answer go to `emit`, in order.
    fn event(&mut self, event: &SseEvent, emit: &mut dyn FnMut(&str)) -> Result<(), LlmError>;

    /// The stream ended: the whole completion, or why the stream was not
    /// complete (a truncated stream is a malformed response).
    fn finish(self) -> Result<Completion, LlmError>;
}

/// How much of a body that held no events an error quotes.
const SNIPPET_BYTES: usize = 1024;

/// Runs a [`StreamFold`] over body bytes.
pub struct SseFold<F> {
    provider: &'static str,
    parser: SseParser,
    fold: F,
    events: usize,
    /// The start of the body while no event has come: quoted when the
    /// server answered something other than an event stream.
    head: Vec<u8>,
}

impl<F: StreamFold> SseFold<F> {
    pub fn new(provider: &'static str, fold: F) -> SseFold<F> {
        SseFold {
            provider,
            parser: SseParser::new(),
            fold,
            events: 0,
            head: Vec::new(),
        }
    }

    pub fn feed(&mut self, bytes: &[u8], emit: &mut dyn FnMut(&str)) -> Result<(), LlmError> {
        if self.events == 0 && self.head.len() < SNIPPET_BYTES {
            let room = SNIPPET_BYTES - self.head.len();
            self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        for event in self.parser.feed(bytes) {
            self.events += 1;
            self.fold.event(&event, emit)?;
        }
        Ok(())
    }

    pub fn finish(mut self, emit: &mut dyn FnMut(&str)) -> Result<Completion, LlmError> {
        if let Some(event) = self.parser.finish() {
            self.events += 1;
            self.fold.event(&event, emit)?;
        }
        if self.events == 0 {
            let head = String::from_utf8_lossy(&self.head);
            return Err(malformed(
                self.provider,
                if head.trim().is_empty() {
                    "an empty event stream".to_string()
                } else {
                    format!(
                        "expected server-sent events, got `{}`",
                        truncate(&head, 200)
                    )
                },
            ));
        }
        self.fold.finish()
    }
}

/// Runs `fold` over `body` cut into `piece`-byte chunks; the completion and
/// the text chunks emitted. For tests of the folds.
pub fn fold_bytes<F: StreamFold>(
    provider: &'static str,
    fold: F,
    body: &[u8],
    piece: usize,
) -> (Result<Completion, LlmError>, Vec<String>) {
    let mut chunks = Vec::new();
    let mut emit = |t: &str| chunks.push(t.to_string());
    let mut driver = SseFold::new(provider, fold);
    for part in body.chunks(piece.max(1)) {
        if let Err(e) = driver.feed(part, &mut emit) {
            return (Err(e), chunks);
        }
    }
    let result = driver.finish(&mut emit);
    (result, chunks)
}

/// Text chunks to the host until it no longer wants them: after the first
/// refusal nothing more is sent (the completion still finishes).
pub struct Chunks<S> {
    send: S,
    open: bool,
}

impl<S: FnMut(&str) -> bool> Chunks<S> {
    /// `send` returns whether the host took the chunk.
    pub fn new(send: S) -> Chunks<S> {
        Chunks { send, open: true }
    }

    pub fn emit(&mut self, text: &str) {
        if self.open && !text.is_empty() && !(self.send)(text) {
            self.open = false;
        }
    }
}

/// Tool calls assembled from deltas, by the provider's index.
#[derive(Debug, Default)]
pub struct PartialCalls {
    calls: BTreeMap<u64, PartialCall>,
}

#[derive(Debug, Default)]
pub struct PartialCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

impl PartialCalls {
    pub fn at(&mut self, index: u64) -> &mut PartialCall {
        self.calls.entry(index).or_default()
    }

    pub fn contains(&self, index: u64) -> bool {
        self.calls.contains_key(&index)
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls in index order. A call without an id gets `call_<n>`;
    /// empty arguments are `{}`.
    pub fn into_calls(self) -> Vec<ToolCall> {
        self.calls
            .into_values()
            .enumerate()
            .map(|(n, c)| ToolCall {
                id: if c.id.is_empty() {
                    format!("call_{n}")
                } else {
                    c.id
                },
                name: c.name,
                arguments: if c.arguments.trim().is_empty() {
                    "{}".to_string()
                } else {
                    c.arguments
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FinishReason, Usage};

    /// Emits every data line; finishes only after an `end` event.
    #[derive(Default)]
    struct Echo {
        text: String,
        ended: bool,
    }

    impl StreamFold for Echo {
        fn event(&mut self, e: &SseEvent, emit: &mut dyn FnMut(&str)) -> Result<(), LlmError> {
            if e.event == "end" {
                self.ended = true;
            } else {
                emit(&e.data);
                self.text.push_str(&e.data);
            }
            Ok(())
        }

        fn finish(self) -> Result<Completion, LlmError> {
            if !self.ended {
                return Err(malformed("echo", "stream ended early"));
            }
            Ok(Completion {
                content: self.text,
                tool_calls: Vec::new(),
                finish_reason: FinishReason::Stop,
                usage: Usage {
                    input_tokens: 0,
                    output_tokens: 0,
                },
                model: "echo".into(),
            })
        }
    }

    #[test]
    fn drives_a_fold_over_any_split() {
        let body = b"data: a\n\ndata: b\n\nevent: end\ndata: {}\n\n";
        for piece in 1..body.len() {
            let (c, chunks) = fold_bytes("echo", Echo::default(), body, piece);
            assert_eq!(c.unwrap().content, "ab");
            assert_eq!(chunks, ["a", "b"]);
        }
    }

    #[test]
    fn a_body_without_events_is_malformed_and_quoted() {
        let (c, _) = fold_bytes("echo", Echo::default(), br#"{"error":"nope"}"#, 4);
        let e = crate::errors::message(&c.unwrap_err());
        assert!(e.contains("malformed response from echo"), "{e}");
        assert!(e.contains(r#"{"error":"nope"}"#), "{e}");
        let (c, _) = fold_bytes("echo", Echo::default(), b"", 4);
        assert!(crate::errors::message(&c.unwrap_err()).contains("empty event stream"));
    }

    #[test]
    fn chunks_stop_after_the_first_refusal() {
        let mut sent = Vec::new();
        let mut chunks = Chunks::new(|t: &str| {
            sent.push(t.to_string());
            sent.len() < 2
        });
        for t in ["a", "", "b", "c"] {
            chunks.emit(t);
        }
        assert_eq!(sent, ["a", "b"]);
    }

    #[test]
    fn partial_calls_assemble_in_index_order() {
        let mut calls = PartialCalls::default();
        calls.at(3).name = "second".into();
        let first = calls.at(1);
        first.id = "call_abc".into();
        first.name = "first".into();
        first.arguments.push_str("{\"a\":");
        calls.at(1).arguments.push_str("1}");
        let calls = calls.into_calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (
                calls[0].id.as_str(),
                calls[0].name.as_str(),
                calls[0].arguments.as_str()
            ),
            ("call_abc", "first", "{\"a\":1}")
        );
        assert_eq!(
            (calls[1].id.as_str(), calls[1].arguments.as_str()),
            ("call_1", "{}")
        );
    }
}
