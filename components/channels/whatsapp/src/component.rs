//! The component's exports: the glue between the host and
//! [`crate::webhook`] / [`crate::cloud_api`]. Built only for wasm32 (the
//! imports trap natively).

use channel_common::answer;
use channel_common::delivery::{deliver, progress_key};
use channel_common::host::{self, DbProgress};
use channel_common::split::split_text;
use channel_common::{
    ChannelError, ChannelInfo, Endpoint, HttpRequest, HttpResponse, OutboundMessage, StatusUpdate,
};
use ironclaw_sdk::channel::Guest;
use ironclaw_sdk::log;

use crate::cloud_api::{self, DEFAULT_API, DEFAULT_VERSION, MESSAGE_LIMIT};
use crate::webhook;

struct WhatsApp;

/// The send URL: the configured phone number id, else the one the
/// inbound webhook was addressed to.
fn messages_url(message: &OutboundMessage) -> Result<String, ChannelError> {
    let settings = host::settings();
    let base = settings.url("api-base-url", DEFAULT_API)?;
    let version = settings
        .string("api-version")?
        .unwrap_or_else(|| DEFAULT_VERSION.to_string());
    cloud_api::check_version(&version)?;
    let from_webhook = message
        .metadata
        .iter()
        .find(|(k, _)| k == "phone_number_id")
        .map(|(_, v)| v.clone());
    let phone = settings
        .string("phone-number-id")?
        .or(from_webhook)
        .ok_or_else(|| {
            ChannelError::Invalid(
                "config `phone-number-id` is not set and the message did not name one".into(),
            )
        })?;
    cloud_api::check_phone_number_id(&phone)?;
    Ok(cloud_api::messages_url(&base, &version, &phone))
}

impl Guest for WhatsApp {
    fn on_start() -> Result<ChannelInfo, ChannelError> {
        Ok(ChannelInfo {
            // GET is Meta's subscription check, answered by the host.
            endpoints: vec![Endpoint {
                suffix: String::new(),
                methods: vec!["GET".into(), "POST".into()],
            }],
            poll_interval_ms: None,
        })
    }

    fn on_http_request(request: HttpRequest) -> Result<HttpResponse, ChannelError> {
        match request.method.as_str() {
            "POST" => {}
            "GET" => {
                return Ok(answer::error(
                    403,
                    "the subscription check is answered by the host: hub.mode, hub.verify_token and hub.challenge are required",
                ));
            }
            _ => return Ok(answer::error(405, "WhatsApp webhooks arrive as POST")),
        }
        let batch = match webhook::parse(&request.body) {
            Ok(batch) => batch,
            Err(message) => return Ok(answer::error(400, &message)),
        };
        for why in &batch.ignored {
            log::debug(&format!("whatsapp: ignored {why}"));
        }
        for message in &batch.messages {
            // A failure keeps the whole webhook for redelivery; messages
            // already emitted are dropped then by their wamid.
            host::emit(message)?;
        }
        Ok(answer::empty(200))
    }

    fn on_poll() -> Result<(), ChannelError> {
        Ok(())
    }

    fn on_respond(message: OutboundMessage) -> Result<(), ChannelError> {
        let url = messages_url(&message)?;
        let to = &message.conversation_id;
        let parts = split_text(&message.text, MESSAGE_LIMIT);
        let key = progress_key(&[to, message.reply_to.as_deref().unwrap_or(""), &message.text]);
        deliver(&key, &parts, &DbProgress, |_, part| {
            let r = host::post_json("whatsapp send", &url, &cloud_api::text_message(to, part))?;
            cloud_api::read_answer(r.status, r.header("retry-after"), &r.body)
        })
    }

    fn on_status(_update: StatusUpdate) -> Result<(), ChannelError> {
        Ok(())
    }

    fn on_shutdown() {}
}

ironclaw_sdk::channel::export!(WhatsApp);
