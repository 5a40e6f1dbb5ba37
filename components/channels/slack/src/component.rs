//! The component's exports: the glue between the host and [`crate::events`]
//! / [`crate::web_api`]. Built only for wasm32 (the imports trap natively).

use channel_common::answer;
use channel_common::delivery::{deliver, progress_key};
use channel_common::host::{self, DbProgress};
use channel_common::split::split_text;
use channel_common::{
    ChannelError, ChannelInfo, Endpoint, HttpRequest, HttpResponse, OutboundMessage, StatusUpdate,
};
use ironclaw_sdk::channel::Guest;
use ironclaw_sdk::log;

use crate::events::{self, Parsed};
use crate::web_api;

const DEFAULT_API: &str = "https://slack.com/api";
/// Where the bot's user id learned from `auth.test` is kept.
const BOT_KEY: &str = "bot-user-id";

struct Slack;

fn api_base() -> Result<String, ChannelError> {
    host::settings().url("api-base-url", DEFAULT_API)
}

/// The bot's user id the owner configured or `auth.test` told earlier.
fn known_bot_user() -> Result<Option<String>, ChannelError> {
    match host::settings().string("bot-user-id")? {
        Some(id) => Ok(Some(id)),
        None => Ok(host::db_get(BOT_KEY)),
    }
}

/// Asks `auth.test` who the bot is and remembers it.
fn learn_bot_user() -> Result<String, ChannelError> {
    let url = format!("{}/auth.test", api_base()?);
    let r = host::post_json("slack auth.test", &url, &serde_json::json!({}))?;
    let answer = web_api::read_answer("auth.test", r.status, r.header("retry-after"), &r.body)?;
    let id = web_api::auth_test_user(&answer)?;
    host::db_set(BOT_KEY, &id);
    Ok(id)
}

fn post(api: &str, channel: &str, thread: Option<&str>, text: &str) -> Result<(), ChannelError> {
    let url = format!("{api}/chat.postMessage");
    let body = web_api::post_message(channel, thread, text);
    let r = host::post_json("slack chat.postMessage", &url, &body)?;
    web_api::read_answer(
        "chat.postMessage",
        r.status,
        r.header("retry-after"),
        &r.body,
    )
    .map(|_| ())
}

impl Guest for Slack {
    fn on_start() -> Result<ChannelInfo, ChannelError> {
        if known_bot_user()?.is_none() {
            // Not fatal: bot messages are still recognised by `bot_id`,
            // and payloads name the bot in their authorizations.
            match learn_bot_user() {
                Ok(id) => log::info(&format!("slack: the bot's user id is {id}")),
                Err(e) => log::warn(&format!(
                    "slack: auth.test failed ({e:?}); set `bot-user-id` in [channels.slack] to recognise mentions without it"
                )),
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
            return Ok(answer::error(405, "Slack events arrive as POST"));
        }
        let bot = known_bot_user()?;
        match events::parse(&request.body, bot.as_deref()) {
            Err(message) => Ok(answer::error(400, &message)),
            Ok(Parsed::Challenge(challenge)) => Ok(answer::text(200, &challenge)),
            Ok(Parsed::Message(message)) => {
                host::emit(&message)?;
                Ok(answer::empty(200))
            }
            Ok(Parsed::Ignored(why)) => {
                log::debug(&format!("slack: ignored {why}"));
                Ok(answer::empty(200))
            }
        }
    }

    fn on_poll() -> Result<(), ChannelError> {
        Ok(())
    }

    fn on_respond(message: OutboundMessage) -> Result<(), ChannelError> {
        let api = api_base()?;
        let parts = split_text(&message.text, web_api::MESSAGE_LIMIT);
        let key = progress_key(&[
            &message.conversation_id,
            message.thread_id.as_deref().unwrap_or(""),
            message.reply_to.as_deref().unwrap_or(""),
            &message.text,
        ]);
        let thread = message.thread_id.as_deref();
        deliver(&key, &parts, &DbProgress, |_, part| {
            post(&api, &message.conversation_id, thread, part)
        })
    }

    fn on_status(_update: StatusUpdate) -> Result<(), ChannelError> {
        // Slack's Web API has no typing indicator for bots.
        Ok(())
    }

    fn on_shutdown() {}
}

ironclaw_sdk::channel::export!(Slack);
