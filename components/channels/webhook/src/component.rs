//! The component's exports: the glue between the host and
//! [`crate::payload`]. Built only for wasm32 (the imports trap natively).

use channel_common::answer::{self, status_error};
use channel_common::host::{self, capability_error};
use channel_common::{
    ChannelError, ChannelInfo, Endpoint, HttpRequest, HttpResponse, OutboundMessage, StatusUpdate,
};
use ironclaw_sdk::channel::Guest;
use ironclaw_sdk::{CapabilityError, channel_host, log};

use crate::payload::{self, DEFAULT_WAIT_MS, Reply};

struct Webhook;

const NEEDS_CALLBACK: &str =
    "reply = \"callback\" (and answers that outlast `timeout-ms`) are POSTed there";

fn reply_mode() -> Result<Reply, ChannelError> {
    let mode = host::settings().choice("reply", &Reply::CHOICES, "response")?;
    Ok(Reply::from_config(mode))
}

fn wait_ms() -> Result<u32, ChannelError> {
    payload::wait_ms(host::settings().u32_or("timeout-ms", DEFAULT_WAIT_MS)?)
}

impl Guest for Webhook {
    /// Refuses to start on settings that could not work, so the owner sees
    /// the mistake at once rather than at the first message.
    fn on_start() -> Result<ChannelInfo, ChannelError> {
        match reply_mode()? {
            Reply::Callback => {
                host::settings().required_url("callback-url", NEEDS_CALLBACK)?;
            }
            Reply::Response => {
                wait_ms()?;
                if host::settings().string("callback-url")?.is_some() {
                    host::settings().url("callback-url", "")?;
                }
            }
        }
        Ok(ChannelInfo {
            endpoints: vec![Endpoint {
                suffix: String::new(),
                methods: vec!["POST".into()],
            }],
            poll_interval_ms: None,
        })
    }

    fn on_http_request(request: HttpRequest) -> Result<HttpResponse, ChannelError> {
        if request.method != "POST" {
            return Ok(answer::error(405, "send messages as POST"));
        }
        let message = match payload::parse(&request.body) {
            Ok(message) => message,
            Err(why) => return Ok(answer::error(400, &why)),
        };
        let id = message.message_id.clone().unwrap_or_default();
        match reply_mode()? {
            Reply::Callback => {
                host::emit(&message)?;
                Ok(answer::json(202, &payload::queued_body(&id)))
            }
            Reply::Response => match channel_host::emit_and_wait(&message, wait_ms()?) {
                Ok(reply) => Ok(answer::json(
                    200,
                    &payload::reply_body(&id, reply.as_deref()),
                )),
                // The wait ran out: the message is queued and its answer
                // will go through on-respond.
                Err(CapabilityError::Failed(why)) => {
                    log::info(&format!("webhook: `{id}` answered later: {why}"));
                    Ok(answer::json(202, &payload::queued_body(&id)))
                }
                Err(e) => Err(capability_error("emit-and-wait", e)),
            },
        }
    }

    fn on_poll() -> Result<(), ChannelError> {
        Ok(())
    }

    fn on_respond(message: OutboundMessage) -> Result<(), ChannelError> {
        let url = host::settings().required_url("callback-url", NEEDS_CALLBACK)?;
        let body = payload::callback_body(
            message.reply_to.as_deref(),
            &message.user_id,
            message.thread_id.as_deref(),
            &message.text,
        );
        // The host adds X-Webhook-Timestamp and X-Webhook-Signature.
        let r = host::post_json("webhook callback", &url, &body)?;
        if (200..300).contains(&r.status) {
            Ok(())
        } else {
            Err(status_error(
                "webhook callback",
                r.status,
                r.header("retry-after"),
                &r.body,
            ))
        }
    }

    fn on_status(_update: StatusUpdate) -> Result<(), ChannelError> {
        Ok(())
    }

    fn on_shutdown() {}
}

ironclaw_sdk::channel::export!(Webhook);
