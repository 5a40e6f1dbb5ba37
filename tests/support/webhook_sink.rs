//! The other end of the generic webhook channel (DESIGN §8): a sender that
//! signs requests as the channel expects (`X-Webhook-Timestamp`,
//! `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`)
//! and a loopback callback sink that records what the channel POSTs back
//! and checks the host's signature on it with the callback secret.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::loopback::{self, Answer, Recorded, Reply, Server};

/// One callback as received, with the verdict on its signature.
#[derive(Debug, Clone)]
pub struct Callback {
    pub request: Recorded,
    pub body: Value,
    /// The signature matched `{timestamp}.{body}` under the secret and the
    /// timestamp was within 300 s of now.
    pub signature_ok: bool,
}

pub struct WebhookSink {
    server: Server,
    received: Arc<Mutex<Vec<Callback>>>,
}

impl WebhookSink {
    /// A sink verifying callbacks with `secret`.
    pub async fn start(secret: &str) -> WebhookSink {
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler = {
            let received = received.clone();
            let secret = secret.to_string();
            Arc::new(move |r: &Recorded| {
                let signature_ok = verify(&secret, r);
                let callback = Callback {
                    request: r.clone(),
                    body: r.json(),
                    signature_ok,
                };
                received.lock().expect("sink").push(callback);
                if signature_ok {
                    Answer(204, Vec::new(), Vec::new())
                } else {
                    Answer(401, Vec::new(), b"bad signature".to_vec())
                }
            })
        };
        WebhookSink {
            server: Server::start(handler).await,
            received,
        }
    }

    /// The `callback-url`.
    pub fn url(&self) -> String {
        self.server.url("/hooks/ironclaw")
    }

    pub fn received(&self) -> Vec<Callback> {
        self.received.lock().expect("sink").clone()
    }

    pub async fn wait(&self, n: usize, timeout: Duration) -> Vec<Callback> {
        loopback::wait_until(timeout, || self.received().len() >= n).await;
        self.received()
    }

    /// `sha256=` + hex HMAC-SHA256 of `{timestamp}.{body}`.
    pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
        let head = format!("{timestamp}.");
        format!(
            "sha256={}",
            loopback::hmac_hex(secret.as_bytes(), &[head.as_bytes(), body])
        )
    }

    /// POSTs `body` to the gateway, signed now with `secret`.
    pub async fn send(url: &str, secret: &str, body: &[u8]) -> Reply {
        let ts = loopback::unix_now().to_string();
        Self::send_signed(url, &ts, &Self::signature(secret, &ts, body), body).await
    }

    pub async fn send_signed(url: &str, timestamp: &str, signature: &str, body: &[u8]) -> Reply {
        let headers = [
            ("content-type", "application/json"),
            ("x-webhook-timestamp", timestamp),
            ("x-webhook-signature", signature),
        ];
        loopback::send("POST", url, &headers, body).await
    }
}

fn verify(secret: &str, r: &Recorded) -> bool {
    let (Some(ts), Some(sig)) = (
        r.header("x-webhook-timestamp"),
        r.header("x-webhook-signature"),
    ) else {
        return false;
    };
    let fresh = ts
        .parse::<u64>()
        .is_ok_and(|t| t.abs_diff(loopback::unix_now()) <= 300);
    fresh && sig == WebhookSink::signature(secret, ts, &r.body)
}
