//! HTTP answers to the provider's webhook, and the provider's answers to
//! ours read into `channel-error`s.

use ironclaw_sdk::http::HttpError;
use serde_json::Value;

use crate::{ChannelError, HttpResponse};

/// The most of a provider's error body quoted in a message.
const DETAIL_CHARS: usize = 300;

pub fn response(status: u16, content_type: Option<&str>, body: Vec<u8>) -> HttpResponse {
    HttpResponse {
        status,
        headers: content_type
            .map(|t| vec![("content-type".to_string(), t.to_string())])
            .unwrap_or_default(),
        body,
    }
}

/// A status with no body (the acknowledgement providers expect).
pub fn empty(status: u16) -> HttpResponse {
    response(status, None, Vec::new())
}

pub fn text(status: u16, body: &str) -> HttpResponse {
    response(
        status,
        Some("text/plain; charset=utf-8"),
        body.as_bytes().to_vec(),
    )
}

pub fn json(status: u16, body: &Value) -> HttpResponse {
    response(
        status,
        Some("application/json"),
        body.to_string().into_bytes(),
    )
}

/// `{"error": message}` with `status` (a 4xx for bad input).
pub fn error(status: u16, message: &str) -> HttpResponse {
    json(status, &serde_json::json!({ "error": message }))
}

/// `Retry-After` in seconds. The HTTP-date form is not used by the
/// providers here (Slack and Meta send seconds) and reads as unknown.
pub fn retry_after_secs(value: Option<&str>) -> Option<u32> {
    value.and_then(|v| v.trim().parse::<u32>().ok())
}

/// A non-2xx answer from a provider API as a `channel-error`: rate limits
/// and server trouble are worth retrying later (with the provider's wait
/// when it gave one); anything else failed, with the provider's words.
pub fn status_error(
    provider: &str,
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> ChannelError {
    match status {
        429 | 408 | 500..=599 => ChannelError::RetryAfter(retry_after_secs(retry_after)),
        _ => ChannelError::Failed(format!("{provider}: HTTP {status}: {}", detail(body))),
    }
}

/// A request that never got an answer (refused by the host's policy, the
/// network, a timeout).
pub fn transport_error(provider: &str, e: &HttpError) -> ChannelError {
    if e.is_denied() {
        ChannelError::Failed(format!(
            "{provider}: the host refused the request (outside the component's HTTP grant: check the configured base URL)"
        ))
    } else {
        ChannelError::Failed(format!("{provider}: {e}"))
    }
}

/// The start of a body, as text, for an error message.
pub fn detail(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    match text.char_indices().nth(DETAIL_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_only() {
        assert_eq!(retry_after_secs(Some("30")), Some(30));
        assert_eq!(retry_after_secs(Some(" 5 ")), Some(5));
        assert_eq!(
            retry_after_secs(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(retry_after_secs(None), None);
    }

    #[test]
    fn statuses_map_to_retry_or_failure() {
        assert!(matches!(
            status_error("slack", 429, Some("7"), b""),
            ChannelError::RetryAfter(Some(7))
        ));
        assert!(matches!(
            status_error("slack", 503, None, b""),
            ChannelError::RetryAfter(None)
        ));
        match status_error("whatsapp", 400, None, br#"{"error":{"message":"bad"}}"#) {
            ChannelError::Failed(m) => {
                assert!(m.contains("whatsapp: HTTP 400"), "{m}");
                assert!(m.contains("bad"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn details_are_bounded() {
        let long = "x".repeat(1000);
        let d = detail(long.as_bytes());
        assert_eq!(d.chars().count(), DETAIL_CHARS + 1);
        assert_eq!(detail(b"  "), "(empty body)");
    }

    #[test]
    fn responses_carry_their_type() {
        let r = error(400, "missing `text`");
        assert_eq!(r.status, 400);
        assert_eq!(r.headers[0].1, "application/json");
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"], "missing `text`");
        assert!(empty(200).headers.is_empty());
    }
}
