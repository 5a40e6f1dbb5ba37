//! Slack Events API payloads (`url_verification`, `event_callback` with
//! `message` / `app_mention`) read into what the component does with them.
//!
//! Pure logic: no host calls. The host has already checked the v0
//! signature and the timestamp window, and deduped on `event_id`.

use channel_common::{Attachment, InboundMessage};
use serde_json::Value;

/// What one verified webhook asks for.
#[derive(Debug)]
pub enum Parsed {
    /// `url_verification`: answer with this challenge.
    Challenge(String),
    /// A user's message for the agent.
    Message(InboundMessage),
    /// Acknowledge and do nothing; the reason is logged.
    Ignored(String),
}

/// Message subtypes that are still a person writing; every other subtype
/// (`bot_message`, `message_changed`, `message_deleted`, `channel_join`,
/// …) is an edit, a system notice or a bot and is not answered.
const USER_SUBTYPES: &[&str] = &["file_share", "thread_broadcast"];

/// Reads a webhook body. `bot_user_id` is the bot's own user id when
/// known (config, or learned from `auth.test`). `Err` is a message for a
/// 400 answer: the body is not a Slack payload.
pub fn parse(body: &[u8], bot_user_id: Option<&str>) -> Result<Parsed, String> {
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let kind = payload
        .get("type")
        .and_then(Value::as_str)
        .ok_or("payload has no string `type`")?;
    match kind {
        "url_verification" => payload
            .get("challenge")
            .and_then(Value::as_str)
            .map(|c| Parsed::Challenge(c.to_string()))
            .ok_or_else(|| "url_verification has no string `challenge`".to_string()),
        "event_callback" => {
            let event = payload
                .get("event")
                .filter(|e| e.is_object())
                .ok_or("event_callback has no `event` object")?;
            // Without configured knowledge of the bot's id, the installation
            // the event was delivered for names it (a bot token's
            // authorization is the bot user).
            let learned = bot_from_authorizations(&payload);
            let bot = bot_user_id.or(learned.as_deref());
            read_event(event, bot, payload.get("team_id").and_then(Value::as_str))
        }
        other => Ok(Parsed::Ignored(format!("payload type `{other}`"))),
    }
}

/// `authorizations[].user_id` of the bot installation, if the payload says.
pub fn bot_from_authorizations(payload: &Value) -> Option<String> {
    payload
        .get("authorizations")?
        .as_array()?
        .iter()
        .find(|a| a.get("is_bot").and_then(Value::as_bool) == Some(true))
        .and_then(|a| a.get("user_id")?.as_str())
        .map(str::to_string)
}

fn read_event(event: &Value, bot: Option<&str>, team: Option<&str>) -> Result<Parsed, String> {
    let field = |name: &str| event.get(name).and_then(Value::as_str);
    let kind = field("type").ok_or("event has no string `type`")?;
    if kind != "message" && kind != "app_mention" {
        return Ok(Parsed::Ignored(format!("event type `{kind}`")));
    }
    if field("bot_id").is_some() || event.get("bot_profile").is_some() {
        return Ok(Parsed::Ignored("a bot's message".into()));
    }
    if let Some(subtype) = field("subtype")
        && !USER_SUBTYPES.contains(&subtype)
    {
        return Ok(Parsed::Ignored(format!("message subtype `{subtype}`")));
    }
    let Some(user) = field("user") else {
        return Ok(Parsed::Ignored("a message without a user".into()));
    };
    if Some(user) == bot {
        return Ok(Parsed::Ignored("the bot's own message".into()));
    }
    let channel = field("channel").ok_or(format!("{kind} event has no string `channel`"))?;
    let ts = field("ts").ok_or(format!("{kind} event has no string `ts`"))?;
    let text = field("text").unwrap_or("");

    // A DM's channel type is `im` (app_mention events carry no
    // channel_type; a DM channel id starts with `D`).
    let is_direct = match field("channel_type") {
        Some(t) => t == "im",
        None => channel.starts_with('D'),
    };
    let mentioned = match bot {
        Some(bot) => text.contains(&format!("<@{bot}>")) || text.contains(&format!("<@{bot}|")),
        None => false,
    };
    if kind == "message" && !is_direct && bot.is_none() && text.contains("<@") {
        // Which mention is the bot's cannot be told without its id; the
        // `app_mention` event for the same post (same message id) says.
        return Ok(Parsed::Ignored(
            "a channel message with a mention while the bot's user id is unknown".into(),
        ));
    }
    let mentions_bot = kind == "app_mention" || mentioned;
    let text = unescape(&strip_mention(text, bot));
    let attachments = files(event);
    if text.trim().is_empty() && attachments.is_empty() {
        return Ok(Parsed::Ignored("an empty message".into()));
    }
    // In a channel every top-level post opens a thread the bot answers in;
    // in a DM a top-level message continues the one running conversation
    // and is answered top-level (a thread per DM message would start a new
    // conversation each time).
    let thread_ts = field("thread_ts");
    let thread_id = if is_direct {
        thread_ts
    } else {
        thread_ts.or(Some(ts))
    };
    let mut metadata = vec![("ts".to_string(), ts.to_string())];
    if let Some(team) = team {
        metadata.push(("team".to_string(), team.to_string()));
    }
    Ok(Parsed::Message(InboundMessage {
        user_id: user.to_string(),
        user_name: None,
        conversation_id: channel.to_string(),
        thread_id: thread_id.map(str::to_string),
        // `message` and `app_mention` for one post share it: it runs once.
        message_id: Some(format!("{channel}:{ts}")),
        text,
        attachments,
        is_direct,
        mentions_bot,
        metadata,
    }))
}

/// The bot's `<@U…>` / `<@U…|name>` mentions removed; the rest of the
/// text (indentation, line breaks) kept as written.
fn strip_mention(text: &str, bot: Option<&str>) -> String {
    let Some(bot) = bot else {
        return text.trim().to_string();
    };
    let open = format!("<@{bot}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        // Only `<@BOT>` or `<@BOT|…>`: not `<@BOT2>`.
        let end = match after.chars().next() {
            Some('>') => after.find('>'),
            Some('|') => after.find('>'),
            _ => None,
        };
        match end {
            Some(end) => {
                out.push_str(&rest[..i]);
                rest = &after[end + 1..];
                // "hey <@BOT> there" reads "hey there", not "hey  there".
                if (out.is_empty() || out.ends_with(' ')) && rest.starts_with(' ') {
                    rest = &rest[1..];
                }
            }
            None => {
                out.push_str(&rest[..i + open.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// Slack escapes `&`, `<` and `>` in message text.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn files(event: &Value) -> Vec<Attachment> {
    let Some(files) = event.get("files").and_then(Value::as_array) else {
        return Vec::new();
    };
    files
        .iter()
        .filter_map(|f| {
            let reference = f
                .get("url_private")
                .or_else(|| f.get("id"))
                .and_then(Value::as_str)?;
            Some(Attachment {
                mime_type: f
                    .get("mimetype")
                    .and_then(Value::as_str)
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                name: f.get("name").and_then(Value::as_str).map(str::to_string),
                reference: reference.to_string(),
                size_bytes: f.get("size").and_then(Value::as_u64),
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
