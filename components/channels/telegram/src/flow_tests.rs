//! The callbacks' flow against a scripted Bot API, an in-memory db and a
//! recording queue.

use std::collections::{HashMap, VecDeque};

use ironclaw_sdk::channel::ChannelError;
use serde_json::{Value, json};

use crate::api::{ApiError, parse_reply};
use crate::flow::*;
use crate::settings::Settings;
use crate::update::Inbound;

#[derive(Default)]
struct FakeApi {
    calls: Vec<(String, Value, Encoding)>,
    /// Scripted answers per method, in order; none left → `{"ok":true}`
    /// with an empty result.
    script: HashMap<String, VecDeque<Result<Value, ApiError>>>,
}

impl FakeApi {
    fn push(&mut self, method: &str, answer: Result<Value, ApiError>) {
        self.script
            .entry(method.into())
            .or_default()
            .push_back(answer);
    }
    fn push_raw(&mut self, method: &str, status: u16, body: &str) {
        self.push(method, parse_reply(status, body.as_bytes()));
    }
    fn sent(&self, method: &str) -> Vec<Value> {
        self.calls
            .iter()
            .filter(|c| c.0 == method)
            .map(|c| c.1.clone())
            .collect()
    }
}

impl Api for FakeApi {
    fn call(
        &mut self,
        method: &str,
        params: &Value,
        encoding: Encoding,
    ) -> Result<Value, ApiError> {
        self.calls.push((method.into(), params.clone(), encoding));
        self.script
            .get_mut(method)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Ok(if method == "getUpdates" {
                json!([])
            } else {
                json!(true)
            }))
    }
}

#[derive(Default)]
struct MemStore(HashMap<String, String>);

impl Store for MemStore {
    fn get(&mut self, key: &str) -> Result<Option<String>, ChannelError> {
        Ok(self.0.get(key).cloned())
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), ChannelError> {
        self.0.insert(key.into(), value.into());
        Ok(())
    }
    fn delete(&mut self, key: &str) -> Result<(), ChannelError> {
        self.0.remove(key);
        Ok(())
    }
}

#[derive(Default)]
struct Queue {
    emitted: Vec<Inbound>,
    logs: Vec<String>,
    /// Fail the emit of this message id.
    fail_on: Option<String>,
}

impl Sink for Queue {
    fn emit(&mut self, m: &Inbound) -> Result<(), ChannelError> {
        if self.fail_on.as_deref() == Some(m.message_id.as_str()) {
            return Err(ChannelError::Failed("queue down".into()));
        }
        self.emitted.push(m.clone());
        Ok(())
    }
    fn log(&mut self, line: &str) {
        self.logs.push(line.into());
    }
}

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::read(|k| Ok(map.get(k).cloned())).expect("settings")
}

fn dm(update_id: i64, message_id: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": {"id": 42, "is_bot": false, "first_name": "Ada"},
            "chat": {"id": 42, "type": "private"},
            "date": 1_700_000_000,
            "text": text
        }
    })
}

#[test]
fn poll_mode_start_clears_the_webhook_and_learns_the_bot() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    api.push(
        "getMe",
        Ok(json!({"id": 777, "is_bot": true, "first_name": "Iron", "username": "iron_bot"})),
    );
    let info = start(&settings(&[]), &mut api, &mut store, &mut q).unwrap();
    assert_eq!(info.poll_interval_ms, Some(100));
    assert!(info.endpoints.is_empty());
    assert_eq!(
        api.calls.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["getMe", "deleteWebhook"]
    );
    assert_eq!(
        store.0.get(KEY_BOT_USERNAME).map(String::as_str),
        Some("iron_bot")
    );
    assert_eq!(store.0.get(KEY_BOT_ID).map(String::as_str), Some("777"));
}

#[test]
fn webhook_mode_start_registers_the_url_in_the_query() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    let s = settings(&[
        ("mode", "webhook"),
        ("webhook-url", "https://me.example/webhook/telegram"),
        ("bot-username", "iron_bot"),
    ]);
    let info = start(&s, &mut api, &mut store, &mut q).unwrap();
    assert_eq!(
        info.endpoints,
        vec![(String::new(), vec!["POST".to_string()])]
    );
    assert_eq!(info.poll_interval_ms, None);
    assert_eq!(api.calls.len(), 1, "no getMe with bot-username set");
    let (method, params, encoding) = &api.calls[0];
    assert_eq!(method, "setWebhook");
    assert_eq!(
        *encoding,
        Encoding::Query,
        "the host adds secret_token to the query"
    );
    assert_eq!(params["url"], "https://me.example/webhook/telegram");
    assert_eq!(params["allowed_updates"], json!(["message"]));

    // Telegram refusing the URL is the owner's to fix.
    api.push_raw("setWebhook", 400, r#"{"ok":false,"error_code":400,"description":"Bad Request: bad webhook: HTTPS url must be provided for webhook"}"#);
    assert!(
        matches!(start(&s, &mut api, &mut store, &mut q), Err(ChannelError::Invalid(m)) if m.contains("HTTPS url"))
    );
}

#[test]
fn a_rejected_token_at_start_is_invalid() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    api.push_raw(
        "getMe",
        401,
        r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
    );
    assert!(matches!(
        start(&settings(&[]), &mut api, &mut store, &mut q),
        Err(ChannelError::Invalid(_))
    ));
}

#[test]
fn poll_emits_then_moves_the_offset() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    let s = settings(&[("bot-username", "iron_bot"), ("poll-timeout-secs", "3")]);
    api.push(
        "getUpdates",
        Ok(json!([dm(500, 1, "one"), {"update_id": 501, "edited_message": {}}, dm(502, 2, "two")])),
    );
    assert_eq!(poll(&s, &mut api, &mut store, &mut q).unwrap(), 3);
    assert_eq!(
        q.emitted
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert_eq!(store.0.get(KEY_OFFSET).map(String::as_str), Some("503"));
    let first = &api.sent("getUpdates")[0];
    assert_eq!(first["timeout"], 3);
    assert!(
        first.get("offset").is_none(),
        "no offset before the first update"
    );
    poll(&s, &mut api, &mut store, &mut q).unwrap();
    assert_eq!(api.sent("getUpdates")[1]["offset"], 503);
}

#[test]
fn a_failed_emit_keeps_the_offset_before_it() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    let s = settings(&[("bot-username", "iron_bot")]);
    q.fail_on = Some("42:2".into());
    api.push(
        "getUpdates",
        Ok(json!([
            dm(500, 1, "one"),
            dm(501, 2, "two"),
            dm(502, 3, "three")
        ])),
    );
    assert!(poll(&s, &mut api, &mut store, &mut q).is_err());
    assert_eq!(
        store.0.get(KEY_OFFSET).map(String::as_str),
        Some("501"),
        "update 501 comes again"
    );
    assert_eq!(q.emitted.len(), 1);
}

#[test]
fn a_conflict_backs_off_and_a_stale_webhook_is_removed() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    let s = settings(&[("bot-username", "iron_bot")]);
    api.push_raw("getUpdates", 409, r#"{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}"#);
    assert!(matches!(
        poll(&s, &mut api, &mut store, &mut q),
        Err(ChannelError::RetryAfter(None))
    ));
    assert!(api.sent("deleteWebhook").is_empty());
    api.push_raw("getUpdates", 409, r#"{"ok":false,"error_code":409,"description":"Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}"#);
    assert!(matches!(
        poll(&s, &mut api, &mut store, &mut q),
        Err(ChannelError::RetryAfter(None))
    ));
    assert_eq!(api.sent("deleteWebhook").len(), 1);
    assert_eq!(store.0.get(KEY_OFFSET), None);
}

#[test]
fn webhook_bodies() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    let s = settings(&[("bot-username", "iron_bot")]);
    let body = dm(1, 9, "hi").to_string();
    assert_eq!(
        webhook(&s, body.as_bytes(), &mut api, &mut store, &mut q).unwrap(),
        200
    );
    assert_eq!(q.emitted[0].message_id, "42:9");
    assert_eq!(
        webhook(&s, b"{not json", &mut api, &mut store, &mut q).unwrap(),
        400
    );
    // A sticker: acknowledged, nothing emitted.
    let sticker = json!({"update_id": 2, "message": {"message_id": 10, "from": {"id": 42, "is_bot": false, "first_name": "A"}, "chat": {"id": 42, "type": "private"}, "date": 0, "sticker": {"file_id": "x"}}});
    assert_eq!(
        webhook(
            &s,
            sticker.to_string().as_bytes(),
            &mut api,
            &mut store,
            &mut q
        )
        .unwrap(),
        200
    );
    assert_eq!(q.emitted.len(), 1);
    assert!(api.calls.is_empty(), "bot-username given: no getMe");
}

fn reply(text: &str) -> Reply {
    Reply {
        conversation_id: "-100500".into(),
        thread_id: Some("12".into()),
        reply_to: Some("-100500:77".into()),
        text: text.into(),
        metadata: vec![("chat_id".into(), "-100500".into())],
    }
}

#[test]
fn respond_replies_in_the_topic_with_markdown() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    respond(
        &settings(&[]),
        &reply("*done*"),
        &mut api,
        &mut store,
        &mut q,
    )
    .unwrap();
    let sent = api.sent("sendMessage");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["chat_id"], -100500);
    assert_eq!(sent[0]["message_thread_id"], 12);
    assert_eq!(sent[0]["reply_parameters"]["message_id"], 77);
    assert_eq!(sent[0]["parse_mode"], "Markdown");
    assert_eq!(sent[0]["text"], "*done*");
}

#[test]
fn markdown_rejected_is_sent_again_as_plain_text() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    api.push_raw("sendMessage", 400, r#"{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 4"}"#);
    respond(
        &settings(&[]),
        &reply("2 * 3 = 6"),
        &mut api,
        &mut store,
        &mut q,
    )
    .unwrap();
    let sent = api.sent("sendMessage");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["parse_mode"], "Markdown");
    assert!(sent[1].get("parse_mode").is_none());
    assert_eq!(sent[1]["text"], "2 * 3 = 6");
    // Any other 400 is not retried as plain text.
    api.push_raw(
        "sendMessage",
        400,
        r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
    );
    assert!(matches!(
        respond(&settings(&[]), &reply("x"), &mut api, &mut store, &mut q),
        Err(ChannelError::Failed(_))
    ));
    assert_eq!(api.sent("sendMessage").len(), 3);
}

#[test]
fn a_long_answer_in_pieces_resumes_after_a_429() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    let text = format!(
        "{}\n{}\n{}",
        "a".repeat(4000),
        "b".repeat(4000),
        "c".repeat(100)
    );
    api.push("sendMessage", Ok(json!({"message_id": 1})));
    api.push_raw("sendMessage", 429, r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#);
    let err = respond(&settings(&[]), &reply(&text), &mut api, &mut store, &mut q).unwrap_err();
    assert!(matches!(err, ChannelError::RetryAfter(Some(3))));
    // The host retries: the first piece is not sent twice.
    respond(&settings(&[]), &reply(&text), &mut api, &mut store, &mut q).unwrap();
    let texts: Vec<String> = api
        .sent("sendMessage")
        .iter()
        .map(|p| p["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        texts,
        vec![
            "a".repeat(4000),
            "b".repeat(4000),
            "b".repeat(4000),
            "c".repeat(100)
        ]
    );
    let sent = api.sent("sendMessage");
    assert!(
        sent[0].get("reply_parameters").is_some(),
        "the first piece replies"
    );
    assert!(sent[3].get("reply_parameters").is_none());
    assert!(store.0.is_empty(), "progress cleared once delivered");
}

#[test]
fn a_migrated_group_is_answered_at_its_new_id() {
    let (mut api, mut store, mut q) = (FakeApi::default(), MemStore::default(), Queue::default());
    api.push_raw("sendMessage", 400, r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1009}}"#);
    respond(
        &settings(&[("parse-mode", "none")]),
        &reply("hi"),
        &mut api,
        &mut store,
        &mut q,
    )
    .unwrap();
    let sent = api.sent("sendMessage");
    assert_eq!(sent[1]["chat_id"], -1009);
    assert!(sent[0].get("parse_mode").is_none());
}

#[test]
fn typing_in_the_topic() {
    let mut api = FakeApi::default();
    typing("-100500", Some("12"), &mut api).unwrap();
    assert_eq!(
        api.sent("sendChatAction")[0],
        json!({"chat_id": -100500, "action": "typing", "message_thread_id": 12})
    );
}
