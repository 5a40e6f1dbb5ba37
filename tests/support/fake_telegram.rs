//! A loopback fake of the Telegram Bot API (DESIGN §8): `getMe`,
//! `getUpdates` (long poll with `timeout`, `offset` confirming what came
//! before, 409 while a webhook is set or when a newer poll takes over),
//! `setWebhook`, `deleteWebhook`, `getWebhookInfo`, `sendMessage` and
//! `sendChatAction`, all under `/bot<TOKEN>/<method>`, with parameters in
//! the query string, a JSON body or a form body as Telegram accepts, and
//! answers in Telegram's envelope: `{"ok":true,"result":…}` or
//! `{"ok":false,"error_code":…,"description":…}`.
//!
//! ```text
//! let tg = FakeTelegram::start("123:ABC").await;
//! tg.push_update(FakeTelegram::private_text(42, "hi"));   // for getUpdates
//! tg.conflicts(1);                                        // next poll: 409
//! tg.reject_markdown(1);                                  // next Markdown send: 400
//! let sent = tg.wait_sent(1, Duration::from_secs(20)).await;
//! tg.deliver_webhook(update).await;                       // as Telegram posts it
//! ```
//!
//! Markdown is also refused the way Telegram refuses it when `*`, `_` or
//! `` ` `` are unbalanced, with the real "can't parse entities" message.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

pub mod http;

use http::{decode_pairs, json_param, number, percent_decode, read_request, text, text_param};

pub const BOT_ID: i64 = 7_000_001;
pub const BOT_USERNAME: &str = "ironclaw_test_bot";

/// One Bot API call as the fake received it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The path as sent (with the token the host put in).
    pub path: String,
    /// Query string, as sent.
    pub query: String,
    pub content_type: String,
    /// Query, JSON and form parameters merged.
    pub params: Value,
}

#[derive(Debug, Clone, Default)]
pub struct Webhook {
    pub url: String,
    pub secret_token: Option<String>,
    pub allowed_updates: Option<Value>,
}

#[derive(Default)]
struct State {
    updates: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    calls: Vec<Call>,
    webhook: Option<Webhook>,
    conflicts: u32,
    reject_markdown: u32,
    /// (after this many accepted messages, retry_after) for a 429.
    rate_limit: VecDeque<(usize, u32)>,
    /// Bumped by each getUpdates; a waiting poll that sees a newer one
    /// ends with 409, as Telegram's does.
    poll_generation: u64,
}

pub struct FakeTelegram {
    pub addr: SocketAddr,
    pub token: String,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn ok(result: Value) -> (u16, Value) {
    (200, json!({"ok": true, "result": result}))
}

fn error(code: u16, description: &str) -> (u16, Value) {
    (
        code,
        json!({"ok": false, "error_code": code, "description": description}),
    )
}

impl FakeTelegram {
    pub async fn start(token: &str) -> FakeTelegram {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            next_update_id: 100_000,
            next_message_id: 5_000,
            ..State::default()
        }));
        let changed = Arc::new(Notify::new());
        let fake = Server {
            token: token.to_string(),
            state: state.clone(),
            changed: changed.clone(),
        };
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let fake = fake.clone();
                tokio::spawn(async move {
                    let _ = fake.serve(stream).await;
                });
            }
        });
        FakeTelegram {
            addr,
            token: token.to_string(),
            state,
            changed,
            task,
        }
    }

    /// What `[channels.telegram] api-base-url` is set to.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let out = f(&mut self.state.lock().expect("fake state"));
        self.changed.notify_waiters();
        out
    }

    /// Queues an update for getUpdates, giving it the next `update_id`
    /// unless it has one. Returns the id.
    pub fn push_update(&self, mut update: Value) -> i64 {
        self.with(|s| {
            let id = update["update_id"].as_i64().unwrap_or_else(|| {
                s.next_update_id += 1;
                s.next_update_id
            });
            update["update_id"] = json!(id);
            s.updates.push_back(update);
            id
        })
    }

    /// The next `n` getUpdates answer 409 "terminated by other getUpdates".
    pub fn conflicts(&self, n: u32) {
        self.with(|s| s.conflicts = n);
    }

    /// How many scripted 409s are still to be answered.
    pub fn conflicts_left(&self) -> u32 {
        self.with(|s| s.conflicts)
    }

    /// The next `n` sendMessage calls with a parse_mode answer 400 "can't
    /// parse entities".
    pub fn reject_markdown(&self, n: u32) {
        self.with(|s| s.reject_markdown = n);
    }

    /// The next sendMessage answers 429 with this `retry_after`.
    pub fn rate_limit_next_send(&self, retry_after: u32) {
        self.rate_limit_send_after(0, retry_after);
    }

    /// The first sendMessage once `accepted` messages went through answers
    /// 429 with this `retry_after` (a flood limit in mid-answer).
    pub fn rate_limit_send_after(&self, accepted: usize, retry_after: u32) {
        self.with(|s| s.rate_limit.push_back((accepted, retry_after)));
    }

    /// A webhook as if set earlier (getUpdates then answers 409).
    pub fn set_webhook(&self, url: &str) {
        self.with(|s| {
            s.webhook = Some(Webhook {
                url: url.into(),
                ..Webhook::default()
            })
        });
    }

    pub fn webhook(&self) -> Option<Webhook> {
        self.with(|s| s.webhook.clone())
    }

    pub fn calls(&self) -> Vec<Call> {
        self.with(|s| s.calls.clone())
    }

    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.with(|s| {
            s.calls
                .iter()
                .filter(|c| c.method == method)
                .cloned()
                .collect()
        })
    }

    /// Parameters of the sendMessage calls Telegram accepted.
    pub fn sent(&self) -> Vec<Value> {
        self.calls_of("sendMessage")
            .into_iter()
            .filter(|c| c.params.get("accepted").is_some())
            .map(|c| c.params)
            .collect()
    }

    /// Updates still queued (not confirmed by a later offset).
    pub fn pending_updates(&self) -> usize {
        self.with(|s| s.updates.len())
    }

    /// Waits until `n` messages were accepted, or panics after `timeout`
    /// with what was seen.
    pub async fn wait_sent(&self, n: usize, timeout: Duration) -> Vec<Value> {
        self.wait_for(timeout, |f| {
            let sent = f.sent();
            (sent.len() >= n).then_some(sent)
        })
        .await
        .unwrap_or_else(|| panic!("{n} sendMessage not seen; calls: {:#?}", self.calls()))
    }

    /// Polls `check` (every 50 ms and on every change) until it answers.
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        check: impl Fn(&FakeTelegram) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(t) = check(self) {
                return Some(t);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), self.changed.notified()).await;
        }
    }

    /// POSTs `update` to the registered webhook as Telegram does, with
    /// the registered secret in `X-Telegram-Bot-Api-Secret-Token`.
    /// Returns the status the host answered.
    pub async fn deliver_webhook(&self, update: &Value) -> u16 {
        let hook = self.webhook().expect("no webhook registered");
        let secret = hook.secret_token.clone();
        http::post(&hook.url, update, secret.as_deref()).await
    }

    /// A text message in a private chat with user `user_id`.
    pub fn private_text(user_id: i64, text: &str) -> Value {
        json!({
            "message": {
                "message_id": 1,
                "from": {"id": user_id, "is_bot": false, "first_name": "Ada", "username": "ada", "language_code": "en"},
                "chat": {"id": user_id, "first_name": "Ada", "username": "ada", "type": "private"},
                "date": 1_700_000_000,
                "text": text
            }
        })
    }
}

#[derive(Clone)]
struct Server {
    token: String,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

impl Server {
    async fn serve(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let Some((method_line, headers, body)) = read_request(&mut stream).await? else {
            return Ok(());
        };
        let target = method_line.split(' ').nth(1).unwrap_or("").to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let content_type = headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let (status, answer) = self.answer(path, query, &content_type, &body).await;
        let body = answer.to_string();
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            409 => "Conflict",
            429 => "Too Many Requests",
            _ => "Status",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    }

    async fn answer(
        &self,
        path: &str,
        query: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let Some((token, method)) = path
            .strip_prefix("/bot")
            .and_then(|rest| rest.split_once('/'))
        else {
            return error(404, "Not Found");
        };
        if percent_decode(token) != self.token {
            return error(401, "Unauthorized");
        }
        let mut params = Map::new();
        decode_pairs(query, &mut params);
        if content_type.starts_with("application/json") && !body.is_empty() {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(m)) => params.extend(m),
                _ => return error(400, "Bad Request: can't parse JSON object"),
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            decode_pairs(&String::from_utf8_lossy(body), &mut params);
        }
        let call_index = {
            let mut s = self.state.lock().expect("state");
            s.calls.push(Call {
                method: method.to_string(),
                path: path.to_string(),
                query: query.to_string(),
                content_type: content_type.to_string(),
                params: Value::Object(params.clone()),
            });
            s.calls.len() - 1
        };
        self.changed.notify_waiters();
        let (status, answer) = match method {
            "getMe" => ok(json!({
                "id": BOT_ID, "is_bot": true, "first_name": "IronClaw Test",
                "username": BOT_USERNAME, "can_join_groups": true,
                "can_read_all_group_messages": false, "supports_inline_queries": false
            })),
            "getUpdates" => self.get_updates(&params).await,
            "setWebhook" => self.set_webhook(&params),
            "deleteWebhook" => {
                let had = self.state.lock().expect("state").webhook.take().is_some();
                let mut a = ok(json!(true));
                a.1["description"] = json!(if had {
                    "Webhook was deleted"
                } else {
                    "Webhook is already deleted"
                });
                a
            }
            "getWebhookInfo" => {
                let url = self
                    .state
                    .lock()
                    .expect("state")
                    .webhook
                    .as_ref()
                    .map(|w| w.url.clone());
                ok(
                    json!({"url": url.unwrap_or_default(), "has_custom_certificate": false, "pending_update_count": 0}),
                )
            }
            "sendMessage" => self.send_message(&params, call_index),
            "sendChatAction" => match (params.get("chat_id"), params.get("action")) {
                (Some(_), Some(_)) => ok(json!(true)),
                _ => error(400, "Bad Request: chat_id is empty"),
            },
            _ => error(404, "Not Found"),
        };
        self.changed.notify_waiters();
        (status, answer)
    }

    async fn get_updates(&self, params: &Map<String, Value>) -> (u16, Value) {
        let offset = number(params.get("offset"));
        let timeout = number(params.get("timeout")).unwrap_or(0).clamp(0, 50) as u64;
        let limit = number(params.get("limit")).unwrap_or(100).clamp(1, 100) as usize;
        let generation = {
            let mut s = self.state.lock().expect("state");
            if s.webhook.is_some() {
                return error(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                );
            }
            if s.conflicts > 0 {
                s.conflicts -= 1;
                return error(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                );
            }
            // An offset confirms every update before it: they are gone.
            if let Some(offset) = offset {
                s.updates
                    .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            }
            s.poll_generation += 1;
            s.poll_generation
        };
        self.changed.notify_waiters();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        loop {
            let notified = self.changed.notified();
            {
                let s = self.state.lock().expect("state");
                if s.poll_generation != generation {
                    return error(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                    );
                }
                if !s.updates.is_empty() || tokio::time::Instant::now() >= deadline {
                    let batch: Vec<Value> = s.updates.iter().take(limit).cloned().collect();
                    return ok(Value::Array(batch));
                }
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    fn set_webhook(&self, params: &Map<String, Value>) -> (u16, Value) {
        let url = text(params.get("url")).unwrap_or_default();
        if url.is_empty() {
            // Telegram: an empty url removes the webhook.
            self.state.lock().expect("state").webhook = None;
            let mut a = ok(json!(true));
            a.1["description"] = json!("Webhook was deleted");
            return a;
        }
        if !url.starts_with("https://") && !url.starts_with("http://127.") {
            return error(
                400,
                "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
            );
        }
        let allowed_updates = params.get("allowed_updates").map(json_param);
        self.state.lock().expect("state").webhook = Some(Webhook {
            url,
            secret_token: text(params.get("secret_token")),
            allowed_updates,
        });
        let mut a = ok(json!(true));
        a.1["description"] = json!("Webhook was set");
        a
    }

    fn send_message(&self, params: &Map<String, Value>, call_index: usize) -> (u16, Value) {
        let mut s = self.state.lock().expect("state");
        let Some(chat_id) = params.get("chat_id").cloned() else {
            return error(400, "Bad Request: chat_id is empty");
        };
        let text = text(params.get("text")).unwrap_or_default();
        if text.trim().is_empty() {
            return error(400, "Bad Request: message text is empty");
        }
        if text.encode_utf16().count() > 4096 {
            return error(400, "Bad Request: message is too long");
        }
        let accepted = s
            .calls
            .iter()
            .filter(|c| c.params.get("accepted").is_some())
            .count();
        if let Some(&(after, retry_after)) = s.rate_limit.front()
            && accepted >= after
        {
            s.rate_limit.pop_front();
            return (
                429,
                json!({"ok": false, "error_code": 429,
                       "description": format!("Too Many Requests: retry after {retry_after}"),
                       "parameters": {"retry_after": retry_after}}),
            );
        }
        if let Some(mode) = text_param(params.get("parse_mode")) {
            if s.reject_markdown > 0 {
                s.reject_markdown -= 1;
                return error(
                    400,
                    "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 0",
                );
            }
            if mode == "Markdown"
                && let Some(at) = unbalanced_markdown(&text)
            {
                return error(
                    400,
                    &format!(
                        "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset {at}"
                    ),
                );
            }
        }
        s.next_message_id += 1;
        let message_id = s.next_message_id;
        if let Some(call) = s.calls.get_mut(call_index) {
            call.params["accepted"] = json!(message_id);
        }
        let chat_type = if number(Some(&chat_id)).is_some_and(|id| id > 0) {
            "private"
        } else {
            "supergroup"
        };
        let mut message = json!({
            "message_id": message_id,
            "from": {"id": BOT_ID, "is_bot": true, "first_name": "IronClaw Test", "username": BOT_USERNAME},
            "chat": {"id": chat_id, "type": chat_type},
            "date": 1_700_000_100,
            "text": text,
        });
        if let Some(thread) = params.get("message_thread_id") {
            message["message_thread_id"] = thread.clone();
            message["is_topic_message"] = json!(true);
        }
        ok(message)
    }
}

/// Telegram's legacy Markdown: `*bold*`, `_italic_`, `` `code` `` and
/// ```` ``` ```` blocks must close; the byte offset of an unclosed opener.
fn unbalanced_markdown(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut open: Option<(u8, usize)> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\\' {
            i += 2;
            continue;
        }
        let fence = bytes[i..].starts_with(b"```");
        match open {
            Some((b'F', _)) if fence => {
                open = None;
                i += 3;
                continue;
            }
            Some((b'F', _)) => {}
            Some((c, _)) if c == b => open = None,
            Some(_) => {}
            None if fence => {
                open = Some((b'F', i));
                i += 3;
                continue;
            }
            None if matches!(b, b'*' | b'_' | b'`') => open = Some((b, i)),
            None => {}
        }
        i += 1;
    }
    open.map(|(_, at)| at)
}
