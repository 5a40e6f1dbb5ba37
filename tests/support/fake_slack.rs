//! A loopback fake of Slack (DESIGN §8): the Web API methods the channel
//! calls — `auth.test` and `chat.postMessage` under `/api/`, bearer token
//! checked, answered in Slack's envelope (`{"ok":true,…}`, or
//! `{"ok":false,"error":"…"}` with HTTP 200; HTTP 429 with `Retry-After`
//! when rate limited) — and the Events API side: payloads shaped like
//! Slack's documentation, signed as Slack signs them (v0, HMAC-SHA256 of
//! `v0:{timestamp}:{body}`), delivered to the gateway.
//!
//! ```text
//! let slack = FakeSlack::start("xoxb-…").await;      // api-base-url = slack.api_base()
//! let body = FakeSlack::app_mention("Ev1", "C1", "U1", "<@U0BOT> hi", "1.0");
//! let r = slack.deliver(&gateway_url, SECRET, &body, &[]).await;
//! let posts = slack.wait_posts(1, Duration::from_secs(30)).await;
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::loopback::{self, Answer, Recorded, Reply, Server};

pub const BOT_USER_ID: &str = "U0BOT12345";
pub const BOT_ID: &str = "B0BOT12345";
pub const TEAM_ID: &str = "T123ABC456";

#[derive(Default)]
struct State {
    calls: Vec<Recorded>,
    /// Accepted chat.postMessage bodies, in order.
    posts: Vec<Value>,
    /// After this many more accepted posts, …
    accept_first: u32,
    /// … this many chat.postMessage calls get HTTP 429.
    rate_limited: u32,
    next_ts: u64,
}

pub struct FakeSlack {
    server: Server,
    state: Arc<Mutex<State>>,
}

impl FakeSlack {
    pub async fn start(token: &str) -> FakeSlack {
        let state = Arc::new(Mutex::new(State {
            next_ts: 1_700_000_000,
            ..State::default()
        }));
        let bearer = format!("Bearer {token}");
        let handler = {
            let state = state.clone();
            Arc::new(move |r: &Recorded| {
                let mut s = state.lock().expect("fake slack state");
                s.calls.push(r.clone());
                answer(&mut s, r, &bearer)
            })
        };
        FakeSlack {
            server: Server::start(handler).await,
            state,
        }
    }

    /// The `api-base-url` pointing here.
    pub fn api_base(&self) -> String {
        self.server.url("/api")
    }

    /// The next `n` chat.postMessage calls are refused with 429,
    /// `Retry-After: 1`, as Slack's rate limiter does.
    pub fn rate_limit(&self, n: u32) {
        self.rate_limit_after(0, n);
    }

    /// `accept` more posts go through, then `n` are refused with 429.
    pub fn rate_limit_after(&self, accept: u32, n: u32) {
        let mut s = self.state.lock().expect("state");
        s.accept_first = accept;
        s.rate_limited = n;
    }

    pub fn calls(&self) -> Vec<Recorded> {
        self.state.lock().expect("state").calls.clone()
    }

    pub fn posts(&self) -> Vec<Value> {
        self.state.lock().expect("state").posts.clone()
    }

    /// Waits until at least `n` messages were posted; returns them all.
    pub async fn wait_posts(&self, n: usize, timeout: Duration) -> Vec<Value> {
        loopback::wait_until(timeout, || self.posts().len() >= n).await;
        self.posts()
    }

    /// An `event_callback` envelope around `event`, as Slack sends it.
    pub fn callback(event_id: &str, event: Value) -> Value {
        json!({
            "token": "one-long-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A123ABC456",
            "event": event,
            "type": "event_callback",
            "authorizations": [{
                "enterprise_id": null, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                "is_bot": true, "is_enterprise_install": false
            }],
            "event_id": event_id,
            "event_time": loopback::unix_now(),
            "event_context": "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMTIzQUJDNDU2In0"
        })
    }

    /// A `message` event (`channel_type` `im` for a DM, `channel` for a
    /// public channel).
    pub fn message(
        event_id: &str,
        channel: &str,
        user: &str,
        text: &str,
        ts: &str,
        channel_type: &str,
    ) -> Value {
        Self::callback(
            event_id,
            json!({
                "type": "message", "channel": channel, "user": user, "text": text,
                "ts": ts, "event_ts": ts, "channel_type": channel_type,
                "client_msg_id": format!("cm-{event_id}"), "team": TEAM_ID
            }),
        )
    }

    pub fn app_mention(event_id: &str, channel: &str, user: &str, text: &str, ts: &str) -> Value {
        Self::callback(
            event_id,
            json!({
                "type": "app_mention", "channel": channel, "user": user, "text": text,
                "ts": ts, "event_ts": ts, "client_msg_id": format!("cm-{event_id}"), "team": TEAM_ID
            }),
        )
    }

    pub fn url_verification(challenge: &str) -> Value {
        json!({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"})
    }

    /// `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`.
    pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
        let base = format!("v0:{timestamp}:");
        format!(
            "v0={}",
            loopback::hmac_hex(secret.as_bytes(), &[base.as_bytes(), body])
        )
    }

    /// POSTs `body` to the gateway signed now with `secret`, plus `extra`
    /// headers (`X-Slack-Retry-Num`, …).
    pub async fn deliver(url: &str, secret: &str, body: &[u8], extra: &[(&str, &str)]) -> Reply {
        let ts = loopback::unix_now().to_string();
        Self::deliver_signed(url, &ts, &Self::signature(secret, &ts, body), body, extra).await
    }

    /// POSTs with the given timestamp and signature, as they are.
    pub async fn deliver_signed(
        url: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut headers = vec![
            ("content-type", "application/json"),
            ("user-agent", "Slackbot 1.0 (+https://api.slack.com/robots)"),
            ("x-slack-request-timestamp", timestamp),
            ("x-slack-signature", signature),
        ];
        headers.extend_from_slice(extra);
        loopback::send("POST", url, &headers, body).await
    }
}

fn answer(s: &mut State, r: &Recorded, bearer: &str) -> Answer {
    if r.method != "POST" {
        return Answer::json(405, &json!({"ok": false, "error": "method_not_allowed"}));
    }
    match r.header("authorization") {
        None => return Answer::json(200, &json!({"ok": false, "error": "not_authed"})),
        Some(a) if a != bearer => {
            return Answer::json(200, &json!({"ok": false, "error": "invalid_auth"}));
        }
        Some(_) => {}
    }
    match r.path() {
        "/api/auth.test" => Answer::json(
            200,
            &json!({
                "ok": true, "url": "https://ironclaw-test.slack.com/", "team": "IronClaw Test",
                "user": "ironclaw", "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID,
                "is_enterprise_install": false
            }),
        ),
        "/api/chat.postMessage" => post_message(s, r),
        _ => Answer::json(404, &json!({"ok": false, "error": "unknown_method"})),
    }
}

fn post_message(s: &mut State, r: &Recorded) -> Answer {
    if s.accept_first == 0 && s.rate_limited > 0 {
        s.rate_limited -= 1;
        return Answer(
            429,
            vec![
                ("retry-after".into(), "1".into()),
                ("content-type".into(), "application/json".into()),
            ],
            br#"{"ok":false,"error":"ratelimited"}"#.to_vec(),
        );
    }
    let body = r.json();
    let Some(channel) = body.get("channel").and_then(Value::as_str) else {
        return Answer::json(200, &json!({"ok": false, "error": "channel_not_found"}));
    };
    let Some(text) = body
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return Answer::json(200, &json!({"ok": false, "error": "no_text"}));
    };
    s.next_ts += 1;
    let ts = format!("{}.000100", s.next_ts);
    let mut message = json!({
        "type": "message", "subtype": "bot_message", "text": text, "ts": ts,
        "username": "ironclaw", "bot_id": BOT_ID
    });
    if let Some(thread) = body.get("thread_ts") {
        message["thread_ts"] = thread.clone();
    }
    let channel = channel.to_string();
    s.accept_first = s.accept_first.saturating_sub(1);
    s.posts.push(body);
    Answer::json(
        200,
        &json!({"ok": true, "channel": channel, "ts": ts, "message": message}),
    )
}
