//! A loopback fake of the WhatsApp Cloud API (DESIGN §8): `POST
//! /{version}/{phone-number-id}/messages` with the bearer access token
//! checked, answered as the Graph API answers (`{"messaging_product",
//! "contacts", "messages":[{"id":"wamid…"}]}`, or `{"error":{"message",
//! "type","code","fbtrace_id"}}`), and Meta's webhook side: `messages`
//! payloads shaped like the documentation, signed as Meta signs them
//! (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`), and the
//! GET subscription check.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::loopback::{self, Answer, Recorded, Reply, Server};

pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const WABA_ID: &str = "102290129340398";

#[derive(Default)]
struct State {
    calls: Vec<Recorded>,
    /// Accepted send bodies, in order.
    sent: Vec<Value>,
    /// The next this many sends are throttled (code 130429).
    throttled: u32,
    next_id: u64,
}

pub struct FakeWhatsApp {
    server: Server,
    state: Arc<Mutex<State>>,
}

impl FakeWhatsApp {
    pub async fn start(access_token: &str) -> FakeWhatsApp {
        let state = Arc::new(Mutex::new(State::default()));
        let bearer = format!("Bearer {access_token}");
        let handler = {
            let state = state.clone();
            Arc::new(move |r: &Recorded| {
                let mut s = state.lock().expect("fake whatsapp state");
                s.calls.push(r.clone());
                answer(&mut s, r, &bearer)
            })
        };
        FakeWhatsApp {
            server: Server::start(handler).await,
            state,
        }
    }

    /// The `api-base-url` pointing here (the version goes after it).
    pub fn api_base(&self) -> String {
        self.server.url("")
    }

    pub fn throttle(&self, n: u32) {
        self.state.lock().expect("state").throttled = n;
    }

    pub fn calls(&self) -> Vec<Recorded> {
        self.state.lock().expect("state").calls.clone()
    }

    pub fn sent(&self) -> Vec<Value> {
        self.state.lock().expect("state").sent.clone()
    }

    pub async fn wait_sent(&self, n: usize, timeout: Duration) -> Vec<Value> {
        loopback::wait_until(timeout, || self.sent().len() >= n).await;
        self.sent()
    }

    /// A `messages` webhook around `value`, as Meta sends it.
    pub fn webhook(value: Value) -> Value {
        json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}]
        })
    }

    /// A text message from `from` (with the contact's profile name).
    pub fn text(from: &str, name: &str, wamid: &str, body: &str) -> Value {
        Self::webhook(json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": name}, "wa_id": from}],
            "messages": [{
                "from": from, "id": wamid, "timestamp": loopback::unix_now().to_string(),
                "type": "text", "text": {"body": body}
            }]
        }))
    }

    /// A delivery status of a message the business sent.
    pub fn status(recipient: &str, wamid: &str, status: &str) -> Value {
        Self::webhook(json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{
                "id": wamid, "status": status, "timestamp": loopback::unix_now().to_string(),
                "recipient_id": recipient,
                "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
                "pricing": {"billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"}
            }]
        }))
    }

    /// `sha256=` + hex HMAC-SHA256 of the body with the app secret.
    pub fn signature(app_secret: &str, body: &[u8]) -> String {
        format!(
            "sha256={}",
            loopback::hmac_hex(app_secret.as_bytes(), &[body])
        )
    }

    pub async fn deliver(url: &str, app_secret: &str, body: &[u8]) -> Reply {
        Self::deliver_signed(url, &Self::signature(app_secret, body), body).await
    }

    pub async fn deliver_signed(url: &str, signature: &str, body: &[u8]) -> Reply {
        let headers = [
            ("content-type", "application/json"),
            ("user-agent", "facebookexternalua"),
            ("x-hub-signature-256", signature),
        ];
        loopback::send("POST", url, &headers, body).await
    }

    /// Meta's GET subscription check.
    pub async fn challenge(url: &str, mode: &str, verify_token: &str, challenge: &str) -> Reply {
        let url = format!(
            "{url}?hub.mode={mode}&hub.verify_token={verify_token}&hub.challenge={challenge}"
        );
        loopback::send("GET", &url, &[("user-agent", "facebookplatform/1.0")], b"").await
    }
}

fn graph_error(status: u16, message: &str, kind: &str, code: i64) -> Answer {
    Answer::json(
        status,
        &json!({"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjKl"}}),
    )
}

fn answer(s: &mut State, r: &Recorded, bearer: &str) -> Answer {
    if r.header("authorization") != Some(bearer) {
        return graph_error(
            401,
            "Invalid OAuth access token - Cannot parse access token",
            "OAuthException",
            190,
        );
    }
    let segments: Vec<&str> = r.path().trim_start_matches('/').split('/').collect();
    let [version, phone, "messages"] = segments.as_slice() else {
        return graph_error(400, "Unknown path components", "OAuthException", 2500);
    };
    if r.method != "POST" || !version.starts_with('v') {
        return graph_error(400, "Unsupported request", "GraphMethodException", 100);
    }
    if *phone != PHONE_NUMBER_ID {
        return graph_error(
            400,
            &format!("Unsupported post request. Object with ID '{phone}' does not exist"),
            "GraphMethodException",
            100,
        );
    }
    if s.throttled > 0 {
        s.throttled -= 1;
        return graph_error(400, "(#130429) Rate limit hit", "OAuthException", 130429);
    }
    let body = r.json();
    let to = body
        .get("to")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let text = body
        .pointer("/text/body")
        .and_then(Value::as_str)
        .unwrap_or("");
    let valid = body.get("messaging_product") == Some(&json!("whatsapp"))
        && body.get("type") == Some(&json!("text"))
        && !to.is_empty()
        && !text.is_empty()
        && text.chars().count() <= 4096;
    if !valid {
        return graph_error(400, "(#100) Invalid parameter", "OAuthException", 100);
    }
    s.next_id += 1;
    let id = format!("wamid.OUT{:06}", s.next_id);
    s.sent.push(body);
    Answer::json(
        200,
        &json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": id}]
        }),
    )
}
