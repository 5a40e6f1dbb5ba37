//! `telegram`: a Telegram bot as a channel.
//!
//! Two ways in, chosen by `[channels.telegram] mode`:
//! - `poll` (default): the host calls `on-poll` in a loop; each call is one
//!   `getUpdates` long poll (`poll-timeout-secs`), the offset kept in db
//!   and moved only after the messages are emitted.
//! - `webhook`: `on-start` registers `webhook-url` with `setWebhook`; the
//!   host checks `X-Telegram-Bot-Api-Secret-Token` against
//!   `telegram_webhook_secret` and drops repeated `update_id`s before
//!   `on-http-request` sees anything.
//!
//! The component never holds a secret: the host writes the bot token into
//! the `/bot<token>/` path and the webhook secret into setWebhook's query.
//! Mapping lives in [`update`], [`split`], [`api`] and [`flow`], tested
//! natively; the wasm-only glue below wires the callbacks to [`host`].

pub mod api;
pub mod flow;
pub mod host;
pub mod settings;
pub mod split;
pub mod update;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod update_tests;

#[cfg(target_arch = "wasm32")]
mod component {
    use ironclaw_sdk::channel::{
        ChannelError, ChannelInfo, Endpoint, Guest, HttpRequest, HttpResponse, OutboundMessage,
        StatusKind, StatusUpdate,
    };

    use crate::flow::{self, Reply};
    use crate::host::{self, HostApi, HostSink, HostStore};

    struct Telegram;

    fn api(settings: &crate::settings::Settings) -> HostApi {
        HostApi {
            base: settings.api_base.clone(),
        }
    }

    impl Guest for Telegram {
        fn on_start() -> Result<ChannelInfo, ChannelError> {
            let settings = host::settings()?;
            host::check_secrets(&settings)?;
            let info = flow::start(
                &settings,
                &mut api(&settings),
                &mut HostStore,
                &mut HostSink,
            )?;
            Ok(ChannelInfo {
                endpoints: info
                    .endpoints
                    .into_iter()
                    .map(|(suffix, methods)| Endpoint { suffix, methods })
                    .collect(),
                poll_interval_ms: info.poll_interval_ms,
            })
        }

        fn on_http_request(request: HttpRequest) -> Result<HttpResponse, ChannelError> {
            let settings = host::settings()?;
            let status = flow::webhook(
                &settings,
                &request.body,
                &mut api(&settings),
                &mut HostStore,
                &mut HostSink,
            )?;
            Ok(HttpResponse {
                status,
                headers: Vec::new(),
                body: Vec::new(),
            })
        }

        fn on_poll() -> Result<(), ChannelError> {
            let settings = host::settings()?;
            flow::poll(
                &settings,
                &mut api(&settings),
                &mut HostStore,
                &mut HostSink,
            )
            .map(|_| ())
        }

        fn on_respond(message: OutboundMessage) -> Result<(), ChannelError> {
            let settings = host::settings()?;
            let reply = Reply {
                conversation_id: message.conversation_id,
                thread_id: message.thread_id,
                reply_to: message.reply_to,
                text: message.text,
                metadata: message.metadata,
            };
            flow::respond(
                &settings,
                &reply,
                &mut api(&settings),
                &mut HostStore,
                &mut HostSink,
            )
        }

        fn on_status(update: StatusUpdate) -> Result<(), ChannelError> {
            if !matches!(update.kind, StatusKind::Thinking) {
                return Ok(());
            }
            let settings = host::settings()?;
            flow::typing(
                &update.conversation_id,
                update.thread_id.as_deref(),
                &mut api(&settings),
            )
        }

        fn on_shutdown() {
            // Nothing to undo: a webhook stays registered so that Telegram
            // keeps the updates that arrive while the host is down.
        }
    }

    ironclaw_sdk::channel::export!(Telegram);
}
