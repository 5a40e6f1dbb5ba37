//! The webhook's JSON in and out. Pure logic.

use channel_common::{ChannelError, InboundMessage};
use serde_json::{Value, json};

/// Longest `id`, `user` or `thread` accepted: they become keys and ids.
const MAX_ID_CHARS: usize = 256;

/// The most the request may wait for the answer: the manifest's `wall-ms`
/// (120 s) must cover the wait and the rest of the call.
pub const MAX_WAIT_MS: u32 = 110_000;
pub const DEFAULT_WAIT_MS: u32 = 60_000;

/// How the answer goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// In the HTTP response (after `emit-and-wait`).
    Response,
    /// POSTed to `callback-url`.
    Callback,
}

impl Reply {
    pub const CHOICES: [&'static str; 2] = ["response", "callback"];

    pub fn from_config(value: &str) -> Reply {
        if value == "callback" {
            Reply::Callback
        } else {
            Reply::Response
        }
    }
}

/// Reads the request body into the message to emit. `Err` is a message for
/// a 400 answer naming what is wrong.
pub fn parse(body: &[u8]) -> Result<InboundMessage, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or("body must be a JSON object with `id`, `user` and `text`")?;
    let id = required_id(object.get("id"), "id")?;
    let user = required_id(object.get("user"), "user")?;
    let text = match object.get("text") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.clone(),
        Some(Value::String(_)) => return Err("`text` is empty".into()),
        Some(_) => return Err("`text` must be a string".into()),
        None => return Err("missing `text`".into()),
    };
    let thread = match object.get("thread") {
        None | Some(Value::Null) => None,
        Some(v) => Some(required_id(Some(v), "thread")?),
    };
    let user_name = match object.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err("`name` must be a string".into()),
    };
    Ok(InboundMessage {
        user_id: user.clone(),
        user_name,
        // One conversation per sender; `thread` keeps separate threads
        // apart within it.
        conversation_id: user,
        thread_id: thread,
        message_id: Some(id),
        text,
        attachments: Vec::new(),
        // A webhook speaks for one sender to the assistant: direct.
        is_direct: true,
        mentions_bot: false,
        metadata: Vec::new(),
    })
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

/// `200` body of a reply in the response.
pub fn reply_body(id: &str, reply: Option<&str>) -> Value {
    json!({ "id": id, "reply": reply })
}

/// `202` body: the answer will come through the callback.
pub fn queued_body(id: &str) -> Value {
    json!({ "id": id, "queued": true })
}

/// What the callback receives.
pub fn callback_body(
    reply_to: Option<&str>,
    user: &str,
    thread: Option<&str>,
    text: &str,
) -> Value {
    json!({ "id": reply_to, "user": user, "thread": thread, "text": text })
}

/// The wait for `emit-and-wait`: `timeout-ms`, at most [`MAX_WAIT_MS`].
pub fn wait_ms(configured: u32) -> Result<u32, ChannelError> {
    if configured == 0 || configured > MAX_WAIT_MS {
        return Err(ChannelError::Invalid(format!(
            "config `timeout-ms` = {configured} must be from 1 to {MAX_WAIT_MS} (the component's wall-clock budget covers the wait)"
        )));
    }
    Ok(configured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_becomes_a_direct_message() {
        let m =
            parse(br#"{"id":"evt-1","user":"alice","text":"hello","thread":"t1","name":"Alice"}"#)
                .unwrap();
        assert_eq!(m.message_id.as_deref(), Some("evt-1"));
        assert_eq!(m.user_id, "alice");
        assert_eq!(m.conversation_id, "alice");
        assert_eq!(m.thread_id.as_deref(), Some("t1"));
        assert_eq!(m.user_name.as_deref(), Some("Alice"));
        assert_eq!(m.text, "hello");
        assert!(m.is_direct);
        let m = parse(br#"{"id":"evt-2","user":"bob","text":"hi","thread":null}"#).unwrap();
        assert_eq!(m.thread_id, None);
    }

    #[test]
    fn bad_requests_name_the_problem() {
        for (body, says) in [
            (r#"{"id":"1","user":"u""#, "not JSON"),
            (r#"["id"]"#, "JSON object"),
            (r#"{"user":"u","text":"t"}"#, "missing `id`"),
            (r#"{"id":7,"user":"u","text":"t"}"#, "`id` must be a string"),
            (r#"{"id":"1","text":"t"}"#, "missing `user`"),
            (r#"{"id":"1","user":" ","text":"t"}"#, "`user` is empty"),
            (r#"{"id":"1","user":"u"}"#, "missing `text`"),
            (r#"{"id":"1","user":"u","text":""}"#, "`text` is empty"),
            (
                r#"{"id":"1","user":"u","text":["t"]}"#,
                "`text` must be a string",
            ),
            (
                r#"{"id":"1","user":"u","text":"t","thread":3}"#,
                "`thread` must be a string",
            ),
            (
                r#"{"id":"1","user":"u","text":"t","name":{}}"#,
                "`name` must be a string",
            ),
        ] {
            let e = parse(body.as_bytes()).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
        let long = format!(r#"{{"id":"{}","user":"u","text":"t"}}"#, "x".repeat(300));
        assert!(
            parse(long.as_bytes())
                .unwrap_err()
                .contains("longer than 256")
        );
    }

    #[test]
    fn bodies_out() {
        assert_eq!(
            reply_body("1", Some("hi")),
            json!({"id": "1", "reply": "hi"})
        );
        assert_eq!(reply_body("1", None), json!({"id": "1", "reply": null}));
        assert_eq!(queued_body("1"), json!({"id": "1", "queued": true}));
        assert_eq!(
            callback_body(Some("1"), "alice", None, "answer"),
            json!({"id": "1", "user": "alice", "thread": null, "text": "answer"})
        );
    }

    #[test]
    fn modes_and_waits() {
        assert_eq!(Reply::from_config("callback"), Reply::Callback);
        assert_eq!(Reply::from_config("response"), Reply::Response);
        assert_eq!(wait_ms(60_000).unwrap(), 60_000);
        assert!(matches!(wait_ms(0), Err(ChannelError::Invalid(_))));
        assert!(
            matches!(wait_ms(MAX_WAIT_MS + 1), Err(ChannelError::Invalid(m)) if m.contains("timeout-ms"))
        );
    }
}
