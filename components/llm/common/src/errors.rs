//! Failures mapped to `llm-error`, so the host's chain knows what a retry
//! can fix: rate limits and transient failures are retried (or failed over),
//! auth, bad requests and too-long conversations are not.
//!
//! Messages carry the provider's own `error.message` (cut to
//! [`MAX_MESSAGE_CHARS`]), never a key: the adapter never holds one, and
//! the host redacts secret values from responses before the guest sees them.

use ironclaw_sdk::http::HttpError;
use serde_json::Value;

use crate::LlmError;

/// The most characters of a provider's message an error carries.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// `s` cut to `max` characters, with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// What a provider's error body says: `error.message` (OpenAI, Anthropic,
/// Gemini), a top-level `message` or a string `error` (compatible servers),
/// else the body's text when it is not JSON (a proxy's HTML page).
pub fn provider_message(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(json) => {
            let error = json.get("error");
            let message = error
                .and_then(|e| e.get("message"))
                .or_else(|| error.filter(|e| e.is_string()))
                .or_else(|| json.get("message"))
                .or_else(|| json.get("detail"))
                .and_then(Value::as_str)?;
            Some(truncate(message, MAX_MESSAGE_CHARS))
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            (!text.is_empty()).then(|| truncate(text, MAX_MESSAGE_CHARS))
        }
    }
}

/// The provider's machine-readable error code, where it gives one
/// (`error.code` as a string, or `error.type`).
fn provider_code(body: &[u8]) -> Option<String> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let error = json.get("error")?;
    ["code", "type", "status"]
        .iter()
        .find_map(|k| error.get(*k).and_then(Value::as_str))
        .map(str::to_string)
}

/// Gemini's `google.rpc.RetryInfo` (`"retryDelay": "37s"`) in an error body.
fn retry_delay_in_body(body: &[u8]) -> Option<u32> {
    let json: Value = serde_json::from_slice(body).ok()?;
    json.pointer("/error/details")?
        .as_array()?
        .iter()
        .filter_map(|d| d.get("retryDelay").and_then(Value::as_str))
        .find_map(|d| {
            let secs = d.strip_suffix('s')?;
            let whole = secs.split('.').next()?;
            whole.parse::<u32>().ok()
        })
}

/// Whether a provider's message (or code) says the conversation does not
/// fit the model's context.
pub fn is_context_overflow(message: &str, code: Option<&str>) -> bool {
    if code == Some("context_length_exceeded") {
        return true;
    }
    let m = message.to_ascii_lowercase();
    [
        "context length",
        "context_length",
        "context window",
        "context limit",
        "maximum context",
        "too many tokens",
        "prompt is too long",
        "input is too long",
        "exceeds the maximum number of tokens",
        "reduce the length of the messages",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// The variant's WIT name (`auth`, `rate-limited`, …), for logs and tests.
pub fn kind(e: &LlmError) -> &'static str {
    match e {
        LlmError::Denied(_) => "denied",
        LlmError::NotAvailable(_) => "not-available",
        LlmError::InvalidRequest(_) => "invalid-request",
        LlmError::Auth(_) => "auth",
        LlmError::RateLimited(_) => "rate-limited",
        LlmError::ContextTooLong(_) => "context-too-long",
        LlmError::Transient(_) => "transient",
        LlmError::Failed(_) => "failed",
    }
}

/// The error's text (for `rate-limited`, the wait when known).
pub fn message(e: &LlmError) -> String {
    match e {
        LlmError::Denied(m)
        | LlmError::NotAvailable(m)
        | LlmError::InvalidRequest(m)
        | LlmError::Auth(m)
        | LlmError::ContextTooLong(m)
        | LlmError::Transient(m)
        | LlmError::Failed(m) => m.clone(),
        LlmError::RateLimited(Some(s)) => format!("retry after {s} s"),
        LlmError::RateLimited(None) => String::new(),
    }
}

/// A non-2xx answer. `retry_after` is the `Retry-After` header.
pub fn status_error(
    provider: &str,
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> LlmError {
    let detail = provider_message(body).unwrap_or_else(|| "no error message".to_string());
    let code = provider_code(body);
    let text = format!("{provider}: HTTP {status}: {detail}");
    match status {
        401 | 403 => LlmError::Auth(text),
        429 if code.as_deref() == Some("insufficient_quota") => LlmError::Failed(text),
        429 => LlmError::RateLimited(
            retry_after
                .and_then(|v| v.trim().parse::<u32>().ok())
                .or_else(|| retry_delay_in_body(body)),
        ),
        408 | 409 => LlmError::Transient(text),
        400..=499 if is_context_overflow(&detail, code.as_deref()) => {
            LlmError::ContextTooLong(text)
        }
        400..=499 => LlmError::InvalidRequest(text),
        // 5xx, Anthropic's 529 "overloaded", and anything unexpected.
        _ => LlmError::Transient(text),
    }
}

/// The request never got an answer: the host refused it by policy, the
/// connection failed or timed out, or the configured URL is unusable.
pub fn transport_error(provider: &str, e: &HttpError) -> LlmError {
    match e {
        HttpError::Request(m) if m.starts_with("denied") || e.is_denied() => {
            LlmError::Denied(format!("{provider}: {m}"))
        }
        HttpError::Request(m) => LlmError::Transient(format!("{provider}: {m}")),
        HttpError::InvalidUrl(m) => LlmError::InvalidRequest(format!("config `base-url`: {m}")),
        HttpError::InvalidHeader(m) => LlmError::Failed(format!("{provider}: {m}")),
        HttpError::TooLarge(n) => {
            LlmError::Failed(format!("{provider}: response larger than {n} bytes"))
        }
    }
}

/// A 2xx answer the adapter cannot read (bad JSON, a truncated stream):
/// worth one more try.
pub fn malformed(provider: &str, detail: impl core::fmt::Display) -> LlmError {
    LlmError::Transient(format!(
        "malformed response from {provider}: {}",
        truncate(&detail.to_string(), MAX_MESSAGE_CHARS)
    ))
}

/// An error the provider reported inside a 2xx stream (OpenAI's `error`
/// chunk, Anthropic's `error` event): overloads and server errors are
/// transient, the rest are classified like a status.
pub fn stream_error(provider: &str, error: &Value) -> LlmError {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no error message");
    let kind = ["type", "code", "status"]
        .iter()
        .find_map(|k| error.get(*k).and_then(Value::as_str))
        .unwrap_or("");
    let text = format!(
        "{provider}: error in stream ({kind}): {}",
        truncate(message, MAX_MESSAGE_CHARS)
    );
    match kind {
        "rate_limit_error" | "rate_limit_exceeded" | "RESOURCE_EXHAUSTED" => {
            LlmError::RateLimited(None)
        }
        "authentication_error" | "permission_error" => LlmError::Auth(text),
        "invalid_request_error" | "INVALID_ARGUMENT" if is_context_overflow(message, None) => {
            LlmError::ContextTooLong(text)
        }
        "invalid_request_error" | "INVALID_ARGUMENT" => LlmError::InvalidRequest(text),
        _ => LlmError::Transient(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: &LlmError) -> String {
        message(e)
    }

    #[test]
    fn statuses_map_to_kinds() {
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-proj-****abcd.","type":"invalid_request_error","code":"invalid_api_key"}}"#;
        let e = status_error("openai", 401, None, body);
        assert_eq!(kind(&e), "auth");
        assert!(text(&e).contains("Incorrect API key provided"), "{e:?}");
        assert_eq!(kind(&status_error("openai", 403, None, b"")), "auth");
        assert_eq!(
            kind(&status_error("x", 404, None, b"{}")),
            "invalid-request"
        );
        assert_eq!(kind(&status_error("x", 500, None, b"")), "transient");
        assert_eq!(kind(&status_error("x", 503, None, b"<html>")), "transient");
        let overloaded =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let e = status_error("anthropic", 529, None, overloaded);
        assert_eq!(kind(&e), "transient");
        assert!(text(&e).contains("Overloaded"), "{e:?}");
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        assert!(matches!(
            status_error("openai", 429, Some("20"), b"{}"),
            LlmError::RateLimited(Some(20))
        ));
        assert!(matches!(
            status_error("openai", 429, Some("Wed, 21 Oct 2026 07:28:00 GMT"), b"{}"),
            LlmError::RateLimited(None)
        ));
        let gemini = br#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}"#;
        assert!(matches!(
            status_error("gemini", 429, None, gemini),
            LlmError::RateLimited(Some(37))
        ));
        let quota = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        assert_eq!(kind(&status_error("openai", 429, None, quota)), "failed");
    }

    #[test]
    fn context_overflow_is_recognised_for_each_provider() {
        for body in [
            r#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#,
            r#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
        ] {
            let e = status_error("p", 400, None, body.as_bytes());
            assert_eq!(kind(&e), "context-too-long", "{body}");
        }
        let e = status_error(
            "anthropic",
            400,
            None,
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens"}}"#,
        );
        assert_eq!(kind(&e), "invalid-request");
    }

    #[test]
    fn long_messages_are_cut() {
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "é".repeat(1000));
        let e = status_error("p", 400, None, long.as_bytes());
        let t = text(&e);
        assert!(t.contains('…') && t.chars().count() < 400, "{t}");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "abc…");
        assert_eq!(
            provider_message(b"<html>bad gateway</html>").as_deref(),
            Some("<html>bad gateway</html>")
        );
        assert_eq!(
            provider_message(br#"{"error":"model 'x' not found"}"#).as_deref(),
            Some("model 'x' not found")
        );
    }

    #[test]
    fn transport_failures_map_to_kinds() {
        let denied = HttpError::Request("denied: host `evil.example` is not in the grant".into());
        let e = transport_error("openai", &denied);
        assert_eq!(kind(&e), "denied");
        assert!(text(&e).contains("evil.example"), "{e:?}");
        let policy = HttpError::Request(format!(
            "{:?}",
            ironclaw_sdk::wasi::http::types::ErrorCode::HttpRequestDenied
        ));
        assert_eq!(kind(&transport_error("openai", &policy)), "denied");
        let timeout = HttpError::Request("timeout: no first byte within 30 s".into());
        assert_eq!(kind(&transport_error("openai", &timeout)), "transient");
        let refused = HttpError::Request("ConnectionRefused".into());
        assert_eq!(kind(&transport_error("openai", &refused)), "transient");
        let url = HttpError::InvalidUrl("bad".into());
        assert!(text(&transport_error("openai", &url)).contains("base-url"));
        assert_eq!(
            kind(&transport_error("x", &HttpError::TooLarge(10))),
            "failed"
        );
    }

    #[test]
    fn malformed_and_stream_errors() {
        let e = malformed("openai", "expected value at line 1 column 1");
        assert_eq!(kind(&e), "transient");
        assert!(text(&e).contains("malformed response from openai"));
        let overloaded = serde_json::json!({"type":"overloaded_error","message":"Overloaded"});
        assert_eq!(kind(&stream_error("anthropic", &overloaded)), "transient");
        let limited = serde_json::json!({"type":"rate_limit_error","message":"slow down"});
        assert!(matches!(
            stream_error("anthropic", &limited),
            LlmError::RateLimited(None)
        ));
        let bad = serde_json::json!({"type":"invalid_request_error","message":"bad tool schema"});
        assert_eq!(kind(&stream_error("anthropic", &bad)), "invalid-request");
    }
}
