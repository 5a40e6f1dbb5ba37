//! The glue to the host: configuration, the `db` record of delivery
//! progress, `emit`, and JSON requests through the mediated wasi:http
//! client. Only meaningful inside a component (the imports trap natively);
//! the logic it calls into is tested natively.

use ironclaw_sdk::http::{Request, Response};
use ironclaw_sdk::{CapabilityError, channel_host, config, db, log};
use serde_json::Value;

use crate::answer::transport_error;
use crate::delivery::Progress;
use crate::settings::Config;
use crate::{ChannelError, InboundMessage};

/// The most a provider API's answer to a send may be.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A refused or failed capability call as a `channel-error`: what the
/// owner must fix is `invalid`; a full quota may clear up (`retry-after`);
/// the rest `failed`, which the host retries.
pub fn capability_error(what: &str, e: CapabilityError) -> ChannelError {
    let message = format!("{what}: {}", e.describe());
    match e {
        CapabilityError::Denied(_) | CapabilityError::Invalid(_) => ChannelError::Invalid(message),
        CapabilityError::Limited(_) => ChannelError::RetryAfter(None),
        CapabilityError::NotAvailable(_) | CapabilityError::Failed(_) => {
            ChannelError::Failed(message)
        }
    }
}

/// The owner's `[channels.<name>]`.
pub fn settings() -> Config<impl Fn(&str) -> Result<Option<String>, ChannelError>> {
    Config(|key: &str| {
        config::get(key).map_err(|e| capability_error(&format!("reading config `{key}`"), e))
    })
}

/// Hands a message to the agent; an error keeps the webhook in the host's
/// inbox for redelivery.
pub fn emit(message: &InboundMessage) -> Result<(), ChannelError> {
    channel_host::emit(message).map_err(|e| capability_error("emit", e))
}

/// A text value in the component's db.
pub fn db_get(key: &str) -> Option<String> {
    match db::get(key) {
        Ok(v) => v.and_then(|b| String::from_utf8(b).ok()),
        Err(e) => {
            log::warn(&format!("db get `{key}`: {}", e.describe()));
            None
        }
    }
}

pub fn db_set(key: &str, value: &str) {
    if let Err(e) = db::set(key, value.as_bytes()) {
        log::warn(&format!("db set `{key}`: {}", e.describe()));
    }
}

/// Delivery progress kept in the component's db.
pub struct DbProgress;

impl Progress for DbProgress {
    fn sent(&self, key: &str) -> usize {
        db_get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    fn record(&self, key: &str, sent: usize) {
        db_set(key, &sent.to_string());
    }

    fn clear(&self, key: &str) {
        if let Err(e) = db::delete(key) {
            log::warn(&format!("db delete `{key}`: {}", e.describe()));
        }
    }
}

/// POSTs `body` as JSON (credentials are injected by the host) and reads
/// the whole answer, whatever its status.
pub fn post_json(provider: &str, url: &str, body: &Value) -> Result<Response, ChannelError> {
    Request::post(url)
        .json(body)
        .max_response_bytes(MAX_RESPONSE_BYTES)
        .send()
        .map_err(|e| transport_error(provider, &e))
}
