//! What each callback does, written against three small traits — the Bot
//! API, the component's db, the host's queue — so that the whole flow is
//! tested natively with fakes; `host.rs` implements them over the real
//! capabilities.

use ironclaw_sdk::channel::ChannelError;
use serde_json::{Value, json};

use crate::api::ApiError;
use crate::settings::{Mode, Settings};
use crate::split::{MAX_UTF16, split_utf16};
use crate::update::{
    BotIdentity, Inbound, META_CHAT_ID, META_THREAD_ID, Mapped, Update, map_update, message_id_of,
};

/// db keys.
pub const KEY_OFFSET: &str = "offset";
pub const KEY_BOT_USERNAME: &str = "bot_username";
pub const KEY_BOT_ID: &str = "bot_id";
const KEY_PROGRESS: &str = "reply:";

/// Only messages: the channel reads nothing else, so Telegram need not
/// send it (edits, reactions, member changes …).
pub const ALLOWED_UPDATES: &[&str] = &["message"];

/// How parameters travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    /// In the query string, so that the host can add the webhook secret
    /// there (setWebhook).
    Query,
}

pub trait Api {
    fn call(&mut self, method: &str, params: &Value, encoding: Encoding)
    -> Result<Value, ApiError>;
}

pub trait Store {
    fn get(&mut self, key: &str) -> Result<Option<String>, ChannelError>;
    fn set(&mut self, key: &str, value: &str) -> Result<(), ChannelError>;
    fn delete(&mut self, key: &str) -> Result<(), ChannelError>;
}

pub trait Sink {
    fn emit(&mut self, message: &Inbound) -> Result<(), ChannelError>;
    fn log(&mut self, line: &str);
}

/// What `on-start` declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartInfo {
    /// (suffix, methods)
    pub endpoints: Vec<(String, Vec<String>)>,
    pub poll_interval_ms: Option<u32>,
}

/// Registers the webhook or clears it for polling, and learns the bot's
/// username when the owner did not give it.
pub fn start(
    settings: &Settings,
    api: &mut impl Api,
    store: &mut impl Store,
    sink: &mut impl Sink,
) -> Result<StartInfo, ChannelError> {
    if settings.bot_username.is_none() {
        learn_identity(api, store, sink)?;
    }
    match settings.mode {
        Mode::Webhook => {
            let url = settings.webhook_url.clone().unwrap_or_default();
            let params = json!({ "url": url, "allowed_updates": ALLOWED_UPDATES });
            api.call("setWebhook", &params, Encoding::Query)
                .map_err(|e| setup_error(e, "setWebhook"))?;
            sink.log(&format!("telegram: webhook registered at {url}"));
            Ok(StartInfo {
                endpoints: vec![(String::new(), vec!["POST".to_string()])],
                poll_interval_ms: None,
            })
        }
        Mode::Poll => {
            // getUpdates answers 409 while a webhook is set.
            api.call("deleteWebhook", &json!({}), Encoding::Json)
                .map_err(|e| setup_error(e, "deleteWebhook"))?;
            Ok(StartInfo {
                endpoints: Vec::new(),
                poll_interval_ms: Some(settings.poll_interval_ms),
            })
        }
    }
}

/// A refusal at setup (a bad webhook URL, a revoked token) is the owner's
/// to fix; a lost request is retried.
fn setup_error(e: ApiError, method: &str) -> ChannelError {
    match e {
        ApiError::Telegram { code: 400, .. } => ChannelError::Invalid(e.describe(method)),
        e => e.into_channel_error(method),
    }
}

/// getMe, remembered in db. A failure falls back to what was remembered.
fn learn_identity(
    api: &mut impl Api,
    store: &mut impl Store,
    sink: &mut impl Sink,
) -> Result<BotIdentity, ChannelError> {
    match api.call("getMe", &json!({}), Encoding::Json) {
        Ok(me) => {
            let username = me["username"].as_str().unwrap_or_default().to_string();
            let id = me["id"].as_i64();
            store.set(KEY_BOT_USERNAME, &username)?;
            if let Some(id) = id {
                store.set(KEY_BOT_ID, &id.to_string())?;
            }
            Ok(BotIdentity { username, id })
        }
        Err(e) => {
            let remembered = remembered_identity(store)?;
            match (&e, remembered) {
                (
                    ApiError::Telegram {
                        code: 401 | 404, ..
                    },
                    _,
                )
                | (_, None) => Err(e.into_channel_error("getMe")),
                (_, Some(identity)) => {
                    sink.log(&format!(
                        "{}; using the remembered @{}",
                        e.describe("getMe"),
                        identity.username
                    ));
                    Ok(identity)
                }
            }
        }
    }
}

fn remembered_identity(store: &mut impl Store) -> Result<Option<BotIdentity>, ChannelError> {
    let Some(username) = store.get(KEY_BOT_USERNAME)? else {
        return Ok(None);
    };
    let id = store.get(KEY_BOT_ID)?.and_then(|v| v.parse().ok());
    Ok(Some(BotIdentity { username, id }))
}

/// The configured username (with the remembered id, when it is the same
/// bot), else the remembered one, else getMe now.
pub fn identity(
    settings: &Settings,
    api: &mut impl Api,
    store: &mut impl Store,
    sink: &mut impl Sink,
) -> Result<BotIdentity, ChannelError> {
    let remembered = remembered_identity(store)?;
    match (&settings.bot_username, remembered) {
        (Some(name), Some(r)) if r.username.eq_ignore_ascii_case(name) => Ok(r),
        (Some(name), _) => Ok(BotIdentity {
            username: name.clone(),
            id: None,
        }),
        (None, Some(r)) => Ok(r),
        (None, None) => learn_identity(api, store, sink),
    }
}

/// One long poll: every new message emitted, then the offset stored, so a
/// crash in between redelivers (the host drops the repeats by message id).
pub fn poll(
    settings: &Settings,
    api: &mut impl Api,
    store: &mut impl Store,
    sink: &mut impl Sink,
) -> Result<usize, ChannelError> {
    let bot = identity(settings, api, store, sink)?;
    let offset: Option<i64> = store.get(KEY_OFFSET)?.and_then(|v| v.parse().ok());
    let mut params = json!({
        "timeout": settings.poll_timeout_secs,
        "allowed_updates": ALLOWED_UPDATES,
    });
    if let Some(offset) = offset {
        params["offset"] = json!(offset);
    }
    let result = match api.call("getUpdates", &params, Encoding::Json) {
        Ok(r) => r,
        Err(e) if e.is_conflict() => {
            sink.log(&e.describe("getUpdates"));
            if let ApiError::Telegram { description, .. } = &e
                && description.contains("webhook is active")
            {
                // The owner chose polling; a webhook left from before (or
                // set by hand) would block it for good.
                let _ = api.call("deleteWebhook", &json!({}), Encoding::Json);
            }
            // Another poller holds the bot: back off and try again.
            return Err(ChannelError::RetryAfter(None));
        }
        Err(e) => return Err(e.into_channel_error("getUpdates")),
    };
    let updates = result.as_array().cloned().unwrap_or_default();
    let mut next: Option<i64> = None;
    let mut emitted = 0;
    for raw in updates {
        let Some(update_id) = raw["update_id"].as_i64() else {
            sink.log("telegram: an update without update_id was skipped");
            continue;
        };
        if let Err(e) = handle(&raw, &bot, sink) {
            // Keep what was done; this update comes again next time.
            if let Some(n) = next {
                store.set(KEY_OFFSET, &n.to_string())?;
            }
            return Err(e);
        }
        emitted += 1;
        next = Some(next.map_or(update_id + 1, |n: i64| n.max(update_id + 1)));
    }
    if let Some(n) = next {
        store.set(KEY_OFFSET, &n.to_string())?;
    }
    Ok(emitted)
}

/// Parses and emits one update; a shape this channel does not read is
/// logged and skipped, not an error (it would otherwise come back forever).
fn handle(raw: &Value, bot: &BotIdentity, sink: &mut impl Sink) -> Result<(), ChannelError> {
    let update: Update = match serde_json::from_value(raw.clone()) {
        Ok(u) => u,
        Err(e) => {
            sink.log(&format!(
                "telegram: skipped an update this channel cannot read: {e}"
            ));
            return Ok(());
        }
    };
    match map_update(&update, bot) {
        Mapped::Message(m) => sink.emit(&m),
        Mapped::Ignored(why) => {
            sink.log(&format!("telegram: ignored: {why}"));
            Ok(())
        }
    }
}

/// A webhook's body: one Update. Returns the HTTP status to answer.
pub fn webhook(
    settings: &Settings,
    body: &[u8],
    api: &mut impl Api,
    store: &mut impl Store,
    sink: &mut impl Sink,
) -> Result<u16, ChannelError> {
    let raw: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            sink.log(&format!("telegram: webhook body is not JSON: {e}"));
            return Ok(400);
        }
    };
    let bot = identity(settings, api, store, sink)?;
    handle(&raw, &bot, sink)?;
    Ok(200)
}

/// One answer to send.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub conversation_id: String,
    pub thread_id: Option<String>,
    pub reply_to: Option<String>,
    pub text: String,
    pub metadata: Vec<(String, String)>,
}

fn meta<'a>(metadata: &'a [(String, String)], key: &str) -> Option<&'a str> {
    metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A chat id as Telegram wants it: a number, or `@channelusername`.
fn chat_id_value(id: &str) -> Value {
    id.parse::<i64>().map_or_else(|_| json!(id), |n| json!(n))
}

/// Sends the answer in pieces of at most 4096 UTF-16 units, the first one
/// replying to the user's message, all in its topic. Pieces already sent
/// are remembered, so the host's retry after a 429 halfway does not send
/// them twice.
pub fn respond(
    settings: &Settings,
    reply: &Reply,
    api: &mut impl Api,
    store: &mut impl Store,
    sink: &mut impl Sink,
) -> Result<(), ChannelError> {
    if reply.text.trim().is_empty() {
        sink.log("telegram: empty answer, nothing sent");
        return Ok(());
    }
    let mut chat =
        chat_id_value(meta(&reply.metadata, META_CHAT_ID).unwrap_or(&reply.conversation_id));
    let thread: Option<i64> = reply
        .thread_id
        .as_deref()
        .or(meta(&reply.metadata, META_THREAD_ID))
        .and_then(|t| t.parse().ok());
    let reply_to = reply.reply_to.as_deref().and_then(message_id_of);
    let pieces = split_utf16(&reply.text, MAX_UTF16);
    let progress_key = format!(
        "{KEY_PROGRESS}{}:{:016x}",
        reply.reply_to.as_deref().unwrap_or(&reply.conversation_id),
        fnv1a(&reply.text)
    );
    let done = if pieces.len() > 1 {
        store
            .get(&progress_key)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    } else {
        0
    };
    for (i, piece) in pieces.iter().enumerate().skip(done) {
        let mut params = json!({ "chat_id": chat, "text": piece });
        if let Some(t) = thread {
            params["message_thread_id"] = json!(t);
        }
        if let (0, Some(id)) = (i, reply_to) {
            // The message may have been deleted meanwhile: send anyway.
            params["reply_parameters"] =
                json!({ "message_id": id, "allow_sending_without_reply": true });
        }
        let sent = send_message(settings, params.clone(), api, sink).or_else(|e| match &e {
            ApiError::Telegram {
                migrate_to_chat_id: Some(new_id),
                ..
            } => {
                // The group became a supergroup with a new id.
                chat = json!(new_id);
                params["chat_id"] = chat.clone();
                send_message(settings, params, api, sink)
            }
            _ => Err(e),
        });
        if let Err(e) = sent {
            if i > done {
                store.set(&progress_key, &i.to_string())?;
            }
            return Err(e.into_channel_error("sendMessage"));
        }
    }
    if done > 0 {
        // Progress is only stored when a piece fails; it is finished now.
        store.delete(&progress_key)?;
    }
    Ok(())
}

/// sendMessage with the configured parse mode, again as plain text when
/// Telegram cannot parse the entities (unbalanced `*` or `_` in an answer).
fn send_message(
    settings: &Settings,
    mut params: Value,
    api: &mut impl Api,
    sink: &mut impl Sink,
) -> Result<Value, ApiError> {
    let Some(mode) = &settings.parse_mode else {
        return api.call("sendMessage", &params, Encoding::Json);
    };
    params["parse_mode"] = json!(mode);
    match api.call("sendMessage", &params, Encoding::Json) {
        Err(e) if e.is_entity_parse_error() => {
            sink.log(&format!(
                "{}; sending as plain text",
                e.describe("sendMessage")
            ));
            if let Some(p) = params.as_object_mut() {
                p.remove("parse_mode");
            }
            api.call("sendMessage", &params, Encoding::Json)
        }
        other => other,
    }
}

/// `typing…` in the chat (and topic) while the agent works. Telegram shows
/// it for 5 seconds or until the bot's next message.
pub fn typing(
    conversation_id: &str,
    thread_id: Option<&str>,
    api: &mut impl Api,
) -> Result<(), ChannelError> {
    let mut params = json!({ "chat_id": chat_id_value(conversation_id), "action": "typing" });
    if let Some(t) = thread_id.and_then(|t| t.parse::<i64>().ok()) {
        params["message_thread_id"] = json!(t);
    }
    api.call("sendChatAction", &params, Encoding::Json)
        .map(|_| ())
        .map_err(|e| e.into_channel_error("sendChatAction"))
}

/// A small stable hash: the progress key of one answer's text.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
