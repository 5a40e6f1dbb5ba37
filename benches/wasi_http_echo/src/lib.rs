//! A wasi:http component for `wasmtime serve`: the per-request work of the
//! webhook channel's component (components/channels/webhook, `reply =
//! "callback"`) without the IronClaw host around it. It reads the body,
//! parses it with serde_json, checks `id`, `user`, `text` (and the optional
//! `thread` and `name`) exactly as `webhook::payload::parse` does, and
//! answers `202 {"id", "queued": true}`; a bad body gets `400 {"error"}`.
//! No signature check, no dedupe, no persistence: those are the host's work
//! on the IronClaw side, which is the point of the comparison.

use std::io::Write as _;

use serde_json::{Value, json};
use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasip2::io::streams::StreamError;

wasip2::http::proxy::export!(Echo);

struct Echo;

/// The webhook component's limit on `id`, `user` and `thread`.
const MAX_ID_CHARS: usize = 256;
/// The gateway's default body limit.
const BODY_LIMIT: usize = 1024 * 1024;

impl wasip2::exports::http::incoming_handler::Guest for Echo {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let (status, body) = if !matches!(request.method(), Method::Post) {
            (405, json!({ "error": "send messages as POST" }))
        } else {
            match read_body(&request) {
                Err(why) => (400, json!({ "error": why })),
                Ok(bytes) => match parse(&bytes) {
                    Ok(id) => (202, json!({ "id": id, "queued": true })),
                    Err(why) => (400, json!({ "error": why })),
                },
            }
        };
        respond(response_out, status, &body.to_string());
    }
}

fn read_body(request: &IncomingRequest) -> Result<Vec<u8>, String> {
    let incoming = request.consume().map_err(|_| "no body".to_string())?;
    let mut bytes = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|_| "no body stream".to_string())?;
        loop {
            match stream.blocking_read(16 * 1024) {
                Ok(chunk) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > BODY_LIMIT {
                        return Err("the body is over the limit".into());
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(format!("cannot read the body: {}", e.to_debug_string()));
                }
            }
        }
    }
    drop(incoming);
    Ok(bytes)
}

/// `webhook::payload::parse`, returning the message id.
fn parse(body: &[u8]) -> Result<String, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or("body must be a JSON object with `id`, `user` and `text`")?;
    let id = required_id(object.get("id"), "id")?;
    let _user = required_id(object.get("user"), "user")?;
    match object.get("text") {
        Some(Value::String(t)) if !t.trim().is_empty() => {}
        Some(Value::String(_)) => return Err("`text` is empty".into()),
        Some(_) => return Err("`text` must be a string".into()),
        None => return Err("missing `text`".into()),
    }
    match object.get("thread") {
        None | Some(Value::Null) => {}
        Some(v) => {
            required_id(Some(v), "thread")?;
        }
    }
    match object.get("name") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(_) => return Err("`name` must be a string".into()),
    }
    Ok(id)
}

fn required_id(value: Option<&Value>, name: &str) -> Result<String, String> {
    match value {
        None => Err(format!("missing `{name}`")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(format!("`{name}` is empty")),
        Some(Value::String(s)) if s.chars().count() > MAX_ID_CHARS => {
            Err(format!("`{name}` is longer than {MAX_ID_CHARS} characters"))
        }
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("`{name}` must be a string")),
    }
}

fn respond(out: ResponseOutparam, status: u16, body: &str) {
    // A content-length, as the gateway sends (else the answer is chunked).
    let headers = Fields::from_list(&[
        ("content-type".to_string(), b"application/json".to_vec()),
        (
            "content-length".to_string(),
            body.len().to_string().into_bytes(),
        ),
    ])
    .expect("valid header");
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let outgoing = response.body().expect("response body");
    ResponseOutparam::set(out, Ok(response));
    {
        let mut stream = outgoing.write().expect("body stream");
        let _ = stream.write_all(body.as_bytes());
        let _ = stream.flush();
    }
    let _ = OutgoingBody::finish(outgoing, None);
}
