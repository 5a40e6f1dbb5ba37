//! A webhook for a channel, after the gateway read it within the body
//! limit: route → GET challenge → verification → dedupe → persisted →
//! the component's `on-http-request`. A component that fails keeps the
//! request; the host redelivers it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ChannelHub, MAX_ATTEMPTS, Started, backoff, suffix_path};
use crate::capabilities::live_secrets::SecretSet;
use crate::gateway::verify::{self, parse_query};
use crate::registry::channel_manifest::ChannelSection;
use crate::runtime::channel::{ChannelError, HttpRequest};
use crate::store::domains::HealthEvent;

/// A request as the gateway hands it over (and the inbox keeps it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRequest {
    pub method: String,
    /// The path after `/webhook/<name>`, without leading slash.
    pub suffix: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    #[serde(with = "body_b64")]
    pub body: Vec<u8>,
}

mod body_b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookResponse {
    pub fn text(status: u16, text: impl Into<String>) -> WebhookResponse {
        WebhookResponse {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: text.into().into_bytes(),
        }
    }

    fn empty() -> WebhookResponse {
        WebhookResponse {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// The provider's event id at `pointer` in a JSON body: strings as they
/// are, numbers as their decimal text.
fn event_id(body: &[u8], pointer: &str) -> Result<Option<String>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    Ok(match value.pointer(pointer) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn secret_value(set: &SecretSet, name: &str) -> Option<String> {
    set.get(name).map(|v| v.expose().to_string())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ChannelHub {
    pub async fn webhook(self: &Arc<Self>, name: &str, request: WebhookRequest) -> WebhookResponse {
        if self.settings(name).is_none() {
            return WebhookResponse::text(404, format!("no channel `{name}` is configured"));
        }
        let started = match self.ensure_started(name).await {
            Ok(s) => s,
            Err(_) => {
                return WebhookResponse::text(503, format!("channel `{name}` is not running"));
            }
        };
        let section = started
            .component
            .manifest
            .channel
            .clone()
            .unwrap_or_default();
        let secrets = self.secrets.current();
        let secret = |n: &str| secret_value(&secrets, n);
        if request.method == "GET"
            && let Some(c) = &section.challenge
        {
            let query = parse_query(&request.query);
            if query.iter().any(|(k, _)| *k == c.mode_param) {
                return match verify::challenge(c, secret(&c.secret).as_deref(), &query) {
                    Ok(answer) => WebhookResponse::text(200, answer),
                    Err(e) => {
                        let why = format!("refused a subscription challenge: {e}");
                        self.health(name, HealthEvent::Error(&why)).await;
                        WebhookResponse::text(403, "verification failed")
                    }
                };
            }
        }
        let suffix = suffix_path(&request.suffix);
        let endpoint = started
            .info
            .endpoints
            .iter()
            .find(|e| suffix_path(&e.suffix) == suffix);
        let Some(endpoint) = endpoint else {
            return WebhookResponse::text(404, format!("channel `{name}` has no endpoint here"));
        };
        if !endpoint
            .methods
            .iter()
            .any(|m| m.eq_ignore_ascii_case(&request.method))
        {
            return WebhookResponse::text(405, format!("{} is not accepted here", request.method));
        }
        if let Err(refusal) = self.verify(name, &section, &request, &secrets).await {
            return refusal;
        }
        let event = match section.dedupe.as_ref().filter(|d| !d.event_id.is_empty()) {
            Some(d) => match event_id(&request.body, &d.event_id) {
                Ok(id) => id,
                Err(e) => return WebhookResponse::text(400, e),
            },
            None => None,
        };
        let json = match serde_json::to_string(&request) {
            Ok(j) => j,
            Err(e) => return WebhookResponse::text(500, format!("cannot keep the request: {e}")),
        };
        let id = match self.store.inbox_insert(name, event.as_deref(), &json).await {
            Ok(Some(id)) => id,
            Ok(None) => {
                tracing::debug!(channel = name, event = ?event, "duplicate webhook event acknowledged");
                return WebhookResponse::empty();
            }
            Err(e) => {
                let why = format!("cannot keep a webhook request: {e}");
                self.health(name, HealthEvent::Error(&why)).await;
                // The provider will retry; nothing was processed.
                return WebhookResponse::text(503, "storage unavailable");
            }
        };
        self.health(name, HealthEvent::Inbound).await;
        match self.hand_over(&started, id, &request, 0).await {
            Some(response) => response,
            None => {
                let hub = self.clone();
                let name = name.to_string();
                tokio::spawn(async move { hub.redeliver(&name, id, request, 1).await });
                WebhookResponse::empty()
            }
        }
    }

    async fn verify(
        &self,
        name: &str,
        section: &ChannelSection,
        request: &WebhookRequest,
        secrets: &SecretSet,
    ) -> Result<(), WebhookResponse> {
        let Some(v) = &section.verify else {
            // Fail closed: a channel that declares no verification gets no
            // unauthenticated traffic.
            let why = "refused a webhook: the channel's manifest declares no [channel.verify]";
            self.health(name, HealthEvent::Error(why)).await;
            return Err(WebhookResponse::text(401, "verification failed"));
        };
        let value = secret_value(secrets, v.secret());
        match verify::verify(
            v,
            value.as_deref(),
            &request.headers,
            &request.body,
            now_secs(),
        ) {
            Ok(()) => Ok(()),
            Err(e) => {
                let why = format!("refused a webhook: {e}");
                self.health(name, HealthEvent::Error(&why)).await;
                Err(WebhookResponse::text(401, "verification failed"))
            }
        }
    }

    /// One delivery to the component. `None`: it failed and the request
    /// stays in the inbox for another attempt.
    async fn hand_over(
        &self,
        started: &Started,
        id: i64,
        request: &WebhookRequest,
        attempts: i64,
    ) -> Option<WebhookResponse> {
        let name = started.component.name.to_string();
        let wit = HttpRequest {
            method: request.method.clone(),
            path: suffix_path(&request.suffix),
            query: request.query.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        };
        let (answer, _) = self
            .runtime
            .channel_http(&started.component, started.grants.clone(), &wit)
            .await;
        let error = match answer {
            Ok(Ok(r)) => {
                self.inbox_done(id).await;
                return Some(WebhookResponse {
                    status: r.status,
                    headers: r.headers,
                    body: r.body,
                });
            }
            // The component judged the request malformed: answered, not
            // retried (it would fail the same way).
            Ok(Err(ChannelError::Invalid(why))) => {
                self.inbox_done(id).await;
                return Some(WebhookResponse::text(400, why));
            }
            Ok(Err(e)) => format!("on-http-request: {e}"),
            Err(e) => format!("on-http-request failed: {e}"),
        };
        let give_up = attempts + 1 >= MAX_ATTEMPTS;
        let why = if give_up {
            format!("{error} (gave up after {} attempts)", attempts + 1)
        } else {
            format!("{error} (kept for another attempt)")
        };
        self.health(&name, HealthEvent::Error(&why)).await;
        if let Err(e) = self.store.inbox_attempt(id, Some(&error), give_up).await {
            tracing::warn!(channel = %name, "cannot record a failed delivery: {e}");
        }
        None
    }

    async fn inbox_done(&self, id: i64) {
        if let Err(e) = self.store.inbox_attempt(id, None, false).await {
            tracing::warn!("cannot mark webhook request {id} handled: {e}");
        }
    }

    async fn redeliver(&self, name: &str, id: i64, request: WebhookRequest, mut attempts: i64) {
        while attempts < MAX_ATTEMPTS && !self.stopping() {
            tokio::time::sleep(backoff(attempts - 1)).await;
            let Ok(started) = self.ensure_started(name).await else {
                attempts += 1;
                continue;
            };
            if self
                .hand_over(&started, id, &request, attempts)
                .await
                .is_some()
            {
                return;
            }
            attempts += 1;
        }
    }

    pub(crate) async fn resume_inbox(self: &Arc<Self>) {
        let rows = match self.store.inbox_pending().await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("cannot read kept webhook requests: {e}");
                return;
            }
        };
        for row in rows {
            let Ok(request) = serde_json::from_str::<WebhookRequest>(&row.payload) else {
                let _ = self
                    .store
                    .inbox_attempt(row.id, Some("unreadable kept request"), true)
                    .await;
                continue;
            };
            let hub = self.clone();
            tokio::spawn(async move {
                hub.redeliver(&row.channel, row.id, request, row.attempts.max(1))
                    .await
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_from_strings_and_numbers() {
        assert_eq!(
            event_id(br#"{"event_id":"Ev1"}"#, "/event_id").unwrap(),
            Some("Ev1".into())
        );
        assert_eq!(
            event_id(br#"{"update_id":42}"#, "/update_id").unwrap(),
            Some("42".into())
        );
        assert_eq!(event_id(br#"{"x":1}"#, "/update_id").unwrap(), None);
        assert!(
            event_id(b"not json", "/x")
                .unwrap_err()
                .contains("not JSON")
        );
    }

    #[test]
    fn requests_round_trip_through_the_inbox_form() {
        let r = WebhookRequest {
            method: "POST".into(),
            suffix: String::new(),
            query: "a=1".into(),
            headers: vec![("x".into(), "y".into())],
            body: vec![0, 159, 146, 150],
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<WebhookRequest>(&json).unwrap(), r);
    }
}
