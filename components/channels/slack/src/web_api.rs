//! Slack Web API calls the channel makes (`chat.postMessage`,
//! `auth.test`): request bodies and reading the answers. Pure logic.
//!
//! Slack answers HTTP 200 with `{"ok": false, "error": "…"}` for most
//! failures, and HTTP 429 with `Retry-After` (seconds) when rate limited.

use channel_common::ChannelError;
use channel_common::answer::{retry_after_secs, status_error};
use serde_json::{Value, json};

/// Slack's guidance for one message (it truncates at 40 000).
pub const MESSAGE_LIMIT: usize = 4000;

/// `error` codes of `ok: false` answers that clear up by waiting.
const TRANSIENT: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// The `chat.postMessage` body for one part of a reply: in `thread_ts`'s
/// thread when there is one.
pub fn post_message(channel: &str, thread_ts: Option<&str>, text: &str) -> Value {
    let mut body = json!({ "channel": channel, "text": escape(text) });
    if let Some(ts) = thread_ts {
        body["thread_ts"] = json!(ts);
    }
    body
}

/// Slack reads `<…>` in text as links and mentions (`<!channel>` pings
/// everyone): the model's text is escaped so it shows as written and can
/// never ping or link by markup.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Reads a Web API answer: `Ok` with the JSON when `ok` is true.
pub fn read_answer(
    method: &str,
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<Value, ChannelError> {
    if status == 429 {
        return Err(ChannelError::RetryAfter(retry_after_secs(retry_after)));
    }
    if !(200..300).contains(&status) {
        return Err(status_error(
            &format!("slack {method}"),
            status,
            retry_after,
            body,
        ));
    }
    let answer: Value = serde_json::from_slice(body)
        .map_err(|e| ChannelError::Failed(format!("slack {method}: answer is not JSON: {e}")))?;
    if answer.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(answer);
    }
    let error = answer
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("no `error` given");
    if TRANSIENT.contains(&error) {
        return Err(ChannelError::RetryAfter(retry_after_secs(retry_after)));
    }
    Err(ChannelError::Failed(format!(
        "slack {method}: ok=false, error `{error}`"
    )))
}

/// The bot's user id from an `auth.test` answer.
pub fn auth_test_user(answer: &Value) -> Result<String, ChannelError> {
    answer
        .get("user_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ChannelError::Failed("slack auth.test: answer has no `user_id`".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_message_threads_and_escapes() {
        let b = post_message("C1", Some("1.2"), "a <!channel> & <b>");
        assert_eq!(
            b,
            json!({"channel": "C1", "thread_ts": "1.2", "text": "a &lt;!channel&gt; &amp; &lt;b&gt;"})
        );
        let b = post_message("D1", None, "hi");
        assert!(b.get("thread_ts").is_none());
    }

    #[test]
    fn answers_map_to_errors() {
        let ok = read_answer("chat.postMessage", 200, None, br#"{"ok":true,"ts":"1.3"}"#).unwrap();
        assert_eq!(ok["ts"], "1.3");
        assert!(matches!(
            read_answer("chat.postMessage", 429, Some("12"), b"").unwrap_err(),
            ChannelError::RetryAfter(Some(12))
        ));
        assert!(matches!(
            read_answer(
                "chat.postMessage",
                200,
                None,
                br#"{"ok":false,"error":"ratelimited"}"#
            )
            .unwrap_err(),
            ChannelError::RetryAfter(None)
        ));
        match read_answer(
            "chat.postMessage",
            200,
            None,
            br#"{"ok":false,"error":"channel_not_found"}"#,
        ) {
            Err(ChannelError::Failed(m)) => assert!(m.contains("`channel_not_found`"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_answer("chat.postMessage", 200, None, b"<html>"),
            Err(ChannelError::Failed(m)) if m.contains("not JSON")
        ));
        assert!(matches!(
            read_answer("chat.postMessage", 502, None, b""),
            Err(ChannelError::RetryAfter(None))
        ));
        assert!(matches!(
            read_answer("chat.postMessage", 404, None, b"nope"),
            Err(ChannelError::Failed(m)) if m.contains("HTTP 404")
        ));
    }

    #[test]
    fn auth_test_names_the_bot() {
        let a = json!({"ok": true, "user_id": "UBOT", "bot_id": "B1"});
        assert_eq!(auth_test_user(&a).unwrap(), "UBOT");
        assert!(auth_test_user(&json!({"ok": true})).is_err());
    }
}
