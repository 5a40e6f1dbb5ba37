//! The Cloud API's send-message call: the request and reading its answer.
//! Pure logic.
//!
//! Errors come as `{"error": {"message", "type", "code", "error_subcode",
//! "fbtrace_id"}}`; throttling codes are worth retrying later.

use channel_common::ChannelError;
use channel_common::answer::{detail, retry_after_secs};
use serde_json::{Value, json};

/// A text message body's maximum length.
pub const MESSAGE_LIMIT: usize = 4096;
pub const DEFAULT_API: &str = "https://graph.facebook.com";
pub const DEFAULT_VERSION: &str = "v21.0";

/// Graph API error codes that mean "too many, slow down": 4 (application
/// request limit), 80007 (WABA rate limit), 130429 (throughput), 131048
/// (spam rate limit), 131056 (pair rate limit).
const THROTTLED: &[i64] = &[4, 80007, 130429, 131048, 131056];

/// `/{version}/{phone-number-id}/messages` under the API root.
pub fn messages_url(base: &str, version: &str, phone_number_id: &str) -> String {
    format!("{base}/{version}/{phone_number_id}/messages")
}

/// `v` then digits and dots (`v21.0`), so it can only name a version.
pub fn check_version(version: &str) -> Result<(), ChannelError> {
    let ok = version
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if ok {
        Ok(())
    } else {
        Err(ChannelError::Invalid(format!(
            "config `api-version` = `{version}` must look like `v21.0`"
        )))
    }
}

/// Digits only: a phone number id is a Graph object id.
pub fn check_phone_number_id(id: &str) -> Result<(), ChannelError> {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ChannelError::Invalid(format!(
            "the phone number id `{id}` must be digits (config `phone-number-id`)"
        )))
    }
}

pub fn text_message(to: &str, body: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": { "body": body }
    })
}

/// Reads the send answer: 2xx is sent; throttling and server trouble are
/// `retry-after`; anything else failed with Meta's message and code.
pub fn read_answer(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<(), ChannelError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let wait = retry_after_secs(retry_after);
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").cloned());
    let code = error
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64);
    if status == 429 || status >= 500 || code.is_some_and(|c| THROTTLED.contains(&c)) {
        return Err(ChannelError::RetryAfter(wait));
    }
    let message = error
        .as_ref()
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| detail(body));
    let code = code.map(|c| format!(" (code {c})")).unwrap_or_default();
    Err(ChannelError::Failed(format!(
        "whatsapp send: HTTP {status}: {message}{code}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_documented_request() {
        assert_eq!(
            messages_url("https://graph.facebook.com", "v21.0", "106540352242922"),
            "https://graph.facebook.com/v21.0/106540352242922/messages"
        );
        assert_eq!(
            text_message("16505551234", "hi"),
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234", "type": "text", "text": {"body": "hi"}})
        );
    }

    #[test]
    fn versions_and_ids_are_checked() {
        check_version("v21.0").unwrap();
        check_version("v3").unwrap();
        for bad in ["21.0", "v", "v21/../x", ""] {
            assert!(
                matches!(check_version(bad), Err(ChannelError::Invalid(m)) if m.contains("api-version"))
            );
        }
        check_phone_number_id("106540352242922").unwrap();
        assert!(check_phone_number_id("1/../me").is_err());
        assert!(check_phone_number_id("").is_err());
    }

    #[test]
    fn answers_map_to_errors() {
        read_answer(200, None, br#"{"messaging_product":"whatsapp","contacts":[{"input":"1","wa_id":"1"}],"messages":[{"id":"wamid.X"}]}"#).unwrap();
        assert!(matches!(
            read_answer(429, Some("30"), b""),
            Err(ChannelError::RetryAfter(Some(30)))
        ));
        let throttled = br#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"A"}}"#;
        assert!(matches!(
            read_answer(400, None, throttled),
            Err(ChannelError::RetryAfter(None))
        ));
        assert!(matches!(
            read_answer(503, None, b""),
            Err(ChannelError::RetryAfter(None))
        ));
        let expired = br#"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"B"}}"#;
        match read_answer(401, None, expired) {
            Err(ChannelError::Failed(m)) => {
                assert!(m.contains("Session has expired"), "{m}");
                assert!(m.contains("(code 190)"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(read_answer(404, None, b"not found"), Err(ChannelError::Failed(m)) if m.contains("HTTP 404: not found"))
        );
    }
}
