//! The glue to the host: configuration, the secret check, text chunks and
//! the mediated wasi:http client. Only meaningful inside a component (the
//! imports trap natively); everything it calls into is tested natively.

use ironclaw_sdk::http::{Request, StreamingResponse};
use ironclaw_sdk::{CapabilityError, config, llm_stream, log, secrets};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::errors::{malformed, status_error, transport_error};
use crate::fold::{Chunks, SseFold, StreamFold};
use crate::settings::{Defaults, Settings};
use crate::{Completion, LlmError};

/// The most a whole (non-streaming) response may be: embeddings of a large
/// batch are the biggest answers.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// The most an event stream may be in total; it is parsed as it arrives,
/// so the adapter holds only the text and tool calls, not the stream.
pub const MAX_STREAM_BYTES: usize = 64 * 1024 * 1024;

fn capability(what: &str, e: CapabilityError) -> LlmError {
    match e {
        CapabilityError::Denied(_) => LlmError::Denied(format!("{what}: {}", e.describe())),
        e => LlmError::Failed(format!("{what}: {}", e.describe())),
    }
}

/// The owner's configuration, with the provider's defaults.
pub fn settings(defaults: &Defaults) -> Result<Settings, LlmError> {
    Settings::read(defaults, |key| {
        config::get(key).map_err(|e| capability(&format!("reading config `{key}`"), e))
    })
}

/// Refuses early, with the command that fixes it, when the API key the
/// host would inject is not stored.
pub fn check_secret(settings: &Settings) -> Result<(), LlmError> {
    settings.check_secret(|name| {
        secrets::exists(name).map_err(|e| capability(&format!("checking secret `{name}`"), e))
    })
}

fn request(url: &str, headers: &[(&str, &str)], body: &Value, limit: usize) -> Request {
    headers
        .iter()
        .fold(Request::post(url), |r, (name, value)| r.header(name, value))
        .json(body)
        .max_response_bytes(limit)
}

fn send(provider: &str, request: Request) -> Result<StreamingResponse, LlmError> {
    request
        .send_streaming()
        .map_err(|e| transport_error(provider, &e))
}

/// A non-2xx answer read whole and classified.
fn refused(provider: &str, response: StreamingResponse) -> LlmError {
    let status = response.status;
    let retry_after = response.header("retry-after").map(str::to_string);
    let body = response.into_response().map(|r| r.body).unwrap_or_default();
    log::info(&format!("{provider}: HTTP {status}"));
    status_error(provider, status, retry_after.as_deref(), &body)
}

/// POSTs `body` as JSON and parses the whole JSON answer as `T`.
pub fn post_json<T: DeserializeOwned>(
    provider: &'static str,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Result<T, LlmError> {
    let response = send(provider, request(url, headers, body, MAX_RESPONSE_BYTES))?;
    if !(200..300).contains(&response.status) {
        return Err(refused(provider, response));
    }
    let body = response
        .into_response()
        .map_err(|e| transport_error(provider, &e))?
        .body;
    serde_json::from_slice(&body).map_err(|e| malformed(provider, e))
}

/// POSTs `body` as JSON asking for server-sent events, folds them as they
/// arrive and streams text chunks to the host through `llm-stream`.
pub fn post_stream<F: StreamFold>(
    provider: &'static str,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
    fold: F,
) -> Result<Completion, LlmError> {
    let mut headers = headers.to_vec();
    headers.push(("accept", "text/event-stream"));
    let mut response = send(provider, request(url, &headers, body, MAX_STREAM_BYTES))?;
    if !(200..300).contains(&response.status) {
        return Err(refused(provider, response));
    }
    let mut chunks = Chunks::new(|text: &str| llm_stream::chunk(text).is_ok());
    let mut emit = |text: &str| chunks.emit(text);
    let mut driver = SseFold::new(provider, fold);
    while let Some(bytes) = response
        .next_chunk()
        .map_err(|e| transport_error(provider, &e))?
    {
        driver.feed(&bytes, &mut emit)?;
    }
    driver.finish(&mut emit)
}
