//! OpenAI Chat Completions and Embeddings, as documented: `chat.completion`
//! objects, `chat.completion.chunk` events ending in `data: [DONE]` (with a
//! usage chunk when `stream_options.include_usage` asks), and
//! `{"error": {...}}` bodies.

use serde_json::{Value, json};

use super::{Answer, RecordedRequest, Reply, input_tokens, output_tokens, pieces, vector};

const CREATED: u64 = 1_764_000_000;

fn call_id(seq: u64, i: usize) -> String {
    format!("call_fake{seq:04}x{i}")
}

fn finish(answer: &Answer) -> &'static str {
    if answer.calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

fn usage(request: &RecordedRequest, answer: &Answer) -> Value {
    let (input, output) = (input_tokens(request), output_tokens(answer));
    json!({
        "prompt_tokens": input,
        "completion_tokens": output,
        "total_tokens": input + output,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}
    })
}

pub(super) fn whole(request: &RecordedRequest, answer: &Answer, seq: u64) -> Value {
    let mut message = json!({
        "role": "assistant",
        "content": if answer.text.is_empty() && !answer.calls.is_empty() { Value::Null } else { answer.text.clone().into() },
        "refusal": null,
        "annotations": []
    });
    if !answer.calls.is_empty() {
        message["tool_calls"] = answer
            .calls
            .iter()
            .enumerate()
            .map(|(i, (name, args))| {
                json!({
                    "id": call_id(seq, i),
                    "type": "function",
                    "function": {"name": name, "arguments": args.to_string()}
                })
            })
            .collect();
    }
    json!({
        "id": format!("chatcmpl-fake{seq:04}"),
        "object": "chat.completion",
        "created": CREATED,
        "model": request.model(),
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish(answer)}],
        "usage": usage(request, answer),
        "service_tier": "default",
        "system_fingerprint": "fp_fake0001"
    })
}

pub(super) fn events(request: &RecordedRequest, answer: &Answer, seq: u64) -> Reply {
    let model = request.model();
    let include_usage = request
        .body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    let chunk = |choices: Value, usage: Value| {
        let mut c = json!({
            "id": format!("chatcmpl-fake{seq:04}"),
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_fake0001",
            "choices": choices,
        });
        if include_usage {
            c["usage"] = usage;
        }
        format!("data: {c}\n\n")
    };
    let delta = |delta: Value, finish: Value| {
        chunk(
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]),
            Value::Null,
        )
    };
    let mut events = vec![delta(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )];
    if !answer.text.is_empty() {
        for piece in pieces(&answer.text) {
            events.push(delta(json!({"content": piece}), Value::Null));
        }
    }
    for (i, (name, args)) in answer.calls.iter().enumerate() {
        events.push(delta(
            json!({"tool_calls": [{"index": i, "id": call_id(seq, i), "type": "function",
                                   "function": {"name": name, "arguments": ""}}]}),
            Value::Null,
        ));
        let args = args.to_string();
        let mid = args.len() / 2;
        let (a, b) = args.split_at(args.floor_char_boundary(mid));
        for part in [a, b] {
            events.push(delta(
                json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]}),
                Value::Null,
            ));
        }
    }
    events.push(delta(json!({}), finish(answer).into()));
    if include_usage {
        events.push(chunk(json!([]), usage(request, answer)));
    }
    events.push("data: [DONE]\n\n".to_string());
    Reply::Events {
        events,
        tail: String::new(),
    }
}

pub(super) fn error(status: u16, message: &str) -> Value {
    let (kind, code) = match status {
        401 => ("invalid_request_error", Value::from("invalid_api_key")),
        403 => (
            "invalid_request_error",
            Value::from("unsupported_country_region_territory"),
        ),
        404 => ("invalid_request_error", Value::from("model_not_found")),
        429 => ("requests", Value::from("rate_limit_exceeded")),
        400..=499 => ("invalid_request_error", Value::Null),
        _ => ("server_error", Value::Null),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

pub(super) fn embeddings(request: &RecordedRequest) -> Value {
    let dimensions = request
        .body
        .get("dimensions")
        .and_then(Value::as_u64)
        .map_or(1536, |d| d as usize);
    let inputs: Vec<String> = match request.body.get("input") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let tokens: usize = inputs.iter().map(|t| t.len() / 4 + 1).sum();
    json!({
        "object": "list",
        "data": inputs.iter().enumerate().map(|(i, t)| json!({
            "object": "embedding", "index": i, "embedding": vector(t, dimensions)
        })).collect::<Vec<_>>(),
        "model": request.model(),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
    })
}
