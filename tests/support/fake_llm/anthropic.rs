//! Anthropic Messages, as documented: `message` objects with content
//! blocks, the `message_start` … `message_stop` event sequence (with a
//! `ping`, text deltas and `input_json_delta` fragments), and
//! `{"type": "error", "error": {...}}` bodies.

use serde_json::{Value, json};

use super::{Answer, RecordedRequest, Reply, input_tokens, output_tokens, pieces};

fn message_id(seq: u64) -> String {
    format!("msg_fake{seq:04}")
}

fn tool_id(seq: u64, i: usize) -> String {
    format!("toolu_fake{seq:04}x{i}")
}

fn stop_reason(answer: &Answer) -> &'static str {
    if answer.calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

pub(super) fn whole(request: &RecordedRequest, answer: &Answer, seq: u64) -> Value {
    let mut content = Vec::new();
    if !answer.text.is_empty() {
        content.push(json!({"type": "text", "text": answer.text}));
    }
    for (i, (name, args)) in answer.calls.iter().enumerate() {
        content
            .push(json!({"type": "tool_use", "id": tool_id(seq, i), "name": name, "input": args}));
    }
    json!({
        "id": message_id(seq),
        "type": "message",
        "role": "assistant",
        "model": request.model(),
        "content": content,
        "stop_reason": stop_reason(answer),
        "stop_sequence": null,
        "usage": {
            "input_tokens": input_tokens(request),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens(answer),
            "service_tier": "standard"
        }
    })
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

pub(super) fn events(request: &RecordedRequest, answer: &Answer, seq: u64) -> Reply {
    let mut events = vec![event(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": message_id(seq), "type": "message", "role": "assistant", "content": [],
            "model": request.model(), "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens(request), "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 1}
        }}),
    )];
    let mut index = 0;
    if !answer.text.is_empty() {
        events.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        ));
        events.push(event("ping", json!({"type": "ping"})));
        for piece in pieces(&answer.text) {
            events.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index,
                       "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        events.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    for (i, (name, args)) in answer.calls.iter().enumerate() {
        events.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": tool_id(seq, i), "name": name, "input": {}
            }}),
        ));
        let args = args.to_string();
        let mid = args.floor_char_boundary(args.len() / 2);
        for part in ["", &args[..mid], &args[mid..]] {
            events.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index,
                       "delta": {"type": "input_json_delta", "partial_json": part}}),
            ));
        }
        events.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    events.push(event(
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": stop_reason(answer), "stop_sequence": null},
               "usage": {"output_tokens": output_tokens(answer)}}),
    ));
    events.push(event("message_stop", json!({"type": "message_stop"})));
    Reply::Events {
        events,
        tail: String::new(),
    }
}

pub(super) fn error(status: u16, message: &str) -> Value {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    json!({"type": "error", "error": {"type": kind, "message": message}})
}
