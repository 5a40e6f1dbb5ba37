//! The glue to the host: the Bot API through the mediated `wasi:http`
//! client (the host puts the token in the path and the webhook secret on
//! setWebhook), the component's db, the host's queue, config and secret
//! checks. Only meaningful inside a component (the imports trap natively);
//! everything it calls into is tested natively.

use ironclaw_sdk::channel::ChannelError;
use ironclaw_sdk::channel_host::{self, InboundMessage};
use ironclaw_sdk::http::Request;
use ironclaw_sdk::{CapabilityError, config, db, log, secrets};
use serde_json::Value;

use crate::api::{ApiError, method_url, parse_reply, query_escape};
use crate::flow::{Api, Encoding, Sink, Store};
use crate::settings::{BOT_TOKEN_SECRET, Mode, Settings, WEBHOOK_SECRET, missing_secret};
use crate::update::Inbound;

/// Bot API answers are small; getUpdates of 100 updates is the largest.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

fn capability(what: &str, e: CapabilityError) -> ChannelError {
    match e {
        CapabilityError::Denied(_) | CapabilityError::Invalid(_) => {
            ChannelError::Invalid(format!("{what}: {}", e.describe()))
        }
        e => ChannelError::Failed(format!("{what}: {}", e.describe())),
    }
}

pub fn settings() -> Result<Settings, ChannelError> {
    Settings::read(|key| {
        config::get(key).map_err(|e| capability(&format!("reading config `{key}`"), e))
    })
}

/// Refuses early, with the command that fixes it, when a secret the host
/// must inject (or check webhooks with) is not stored.
pub fn check_secrets(settings: &Settings) -> Result<(), ChannelError> {
    let mut needed = vec![(BOT_TOKEN_SECRET, "every Bot API call carries the bot token")];
    if settings.mode == Mode::Webhook {
        needed.push((
            WEBHOOK_SECRET,
            "webhook mode registers it with setWebhook and the host checks it on every update",
        ));
    }
    for (name, why) in needed {
        let present = secrets::exists(name)
            .map_err(|e| capability(&format!("checking secret `{name}`"), e))?;
        if !present {
            return Err(missing_secret(name, why));
        }
    }
    Ok(())
}

pub struct HostApi {
    pub base: String,
}

impl Api for HostApi {
    fn call(
        &mut self,
        method: &str,
        params: &Value,
        encoding: Encoding,
    ) -> Result<Value, ApiError> {
        let url = method_url(&self.base, method);
        let request = match encoding {
            Encoding::Json => Request::post(&url).json(params),
            Encoding::Query => Request::post(&format!("{url}?{}", query_string(params))),
        };
        let response = request
            .max_response_bytes(MAX_RESPONSE_BYTES)
            .send()
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        parse_reply(response.status, &response.body)
    }
}

/// `params` as `k=v&…`: strings as they are, everything else as JSON
/// (Telegram reads arrays such as `allowed_updates` that way).
fn query_string(params: &Value) -> String {
    let Some(map) = params.as_object() else {
        return String::new();
    };
    // Sorted by key whatever the map's order (serde_json keeps insertion
    // order when another crate in the build enables `preserve_order`).
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{}={}", query_escape(k), query_escape(&text))
        })
        .collect();
    pairs.sort();
    pairs.join("&")
}

pub struct HostStore;

impl Store for HostStore {
    fn get(&mut self, key: &str) -> Result<Option<String>, ChannelError> {
        let value = db::get(key).map_err(|e| capability(&format!("db get `{key}`"), e))?;
        Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), ChannelError> {
        db::set(key, value.as_bytes()).map_err(|e| capability(&format!("db set `{key}`"), e))
    }

    fn delete(&mut self, key: &str) -> Result<(), ChannelError> {
        db::delete(key)
            .map(|_| ())
            .map_err(|e| capability(&format!("db delete `{key}`"), e))
    }
}

pub struct HostSink;

impl Sink for HostSink {
    fn emit(&mut self, m: &Inbound) -> Result<(), ChannelError> {
        let message = InboundMessage {
            user_id: m.user_id.clone(),
            user_name: m.user_name.clone(),
            conversation_id: m.conversation_id.clone(),
            thread_id: m.thread_id.clone(),
            message_id: Some(m.message_id.clone()),
            text: m.text.clone(),
            attachments: Vec::new(),
            is_direct: m.is_direct,
            mentions_bot: m.mentions_bot,
            metadata: m.metadata.clone(),
        };
        // Not queued: the host redelivers (webhook) or the offset stays
        // (poll), so the message is not lost.
        channel_host::emit(&message).map_err(|e| match e {
            CapabilityError::Limited(_) => ChannelError::RetryAfter(None),
            e => capability("emit", e),
        })
    }

    fn log(&mut self, line: &str) {
        log::info(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_strings_encode_arrays_as_json() {
        let q = query_string(&json!({
            "url": "https://me.example/webhook/telegram",
            "allowed_updates": ["message"],
        }));
        assert_eq!(
            q,
            "allowed_updates=%5B%22message%22%5D&url=https%3A%2F%2Fme.example%2Fwebhook%2Ftelegram"
        );
    }
}
