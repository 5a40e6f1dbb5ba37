//! Gemini generateContent / streamGenerateContent?alt=sse and
//! batchEmbedContents, as documented: `candidates[].content.parts` with
//! `text` and `functionCall` parts (no call ids), `usageMetadata`,
//! `modelVersion`; streamed as whole `GenerateContentResponse` objects per
//! event, CRLF-separated, the last one with `finishReason`; errors as
//! `{"error": {"code", "message", "status"}}`.

use serde_json::{Value, json};

use super::{Answer, RecordedRequest, Reply, input_tokens, output_tokens, pieces, vector};

fn usage(request: &RecordedRequest, answer: Option<&Answer>) -> Value {
    let input = input_tokens(request);
    match answer {
        Some(answer) => {
            let output = output_tokens(answer);
            json!({
                "promptTokenCount": input,
                "candidatesTokenCount": output,
                "totalTokenCount": input + output,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": input}]
            })
        }
        None => json!({"promptTokenCount": input, "totalTokenCount": input}),
    }
}

fn call_parts(answer: &Answer) -> Vec<Value> {
    answer
        .calls
        .iter()
        .map(|(name, args)| json!({"functionCall": {"name": name, "args": args}}))
        .collect()
}

fn response(
    request: &RecordedRequest,
    seq: u64,
    parts: Vec<Value>,
    finish: Option<&str>,
    usage: Value,
) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(reason) = finish {
        candidate["finishReason"] = reason.into();
        candidate["avgLogprobs"] = json!(-0.05);
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": request.model(),
        "responseId": format!("fakeResponse{seq:04}")
    })
}

pub(super) fn whole(request: &RecordedRequest, answer: &Answer, seq: u64) -> Value {
    let mut parts = Vec::new();
    if !answer.text.is_empty() {
        parts.push(json!({"text": answer.text}));
    }
    parts.extend(call_parts(answer));
    response(
        request,
        seq,
        parts,
        Some("STOP"),
        usage(request, Some(answer)),
    )
}

pub(super) fn events(request: &RecordedRequest, answer: &Answer, seq: u64) -> Reply {
    let mut bodies: Vec<Vec<Value>> = Vec::new();
    if !answer.text.is_empty() {
        bodies.extend(
            pieces(&answer.text)
                .into_iter()
                .map(|p| vec![json!({"text": p})]),
        );
    }
    // Function calls arrive whole, in the last response.
    let calls = call_parts(answer);
    if !calls.is_empty() {
        bodies.push(calls);
    }
    if bodies.is_empty() {
        bodies.push(vec![json!({"text": ""})]);
    }
    let last = bodies.len() - 1;
    let events = bodies
        .into_iter()
        .enumerate()
        .map(|(i, parts)| {
            let done = i == last;
            let r = response(
                request,
                seq,
                parts,
                done.then_some("STOP"),
                usage(request, done.then_some(answer)),
            );
            format!("data: {r}\r\n\r\n")
        })
        .collect();
    Reply::Events {
        events,
        tail: String::new(),
    }
}

pub(super) fn error(status: u16, message: &str) -> Value {
    let kind = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
    json!({"error": {"code": status, "message": message, "status": kind}})
}

pub(super) fn embeddings(request: &RecordedRequest) -> Value {
    let texts: Vec<String> = request
        .body
        .get("requests")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    r.pointer("/content/parts/0/text")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "embeddings": texts.iter().map(|t| json!({"values": vector(t, 768)})).collect::<Vec<_>>()
    })
}
