//! Telegram `Update`s as the host's inbound messages: who wrote, in which
//! chat and topic, whether it is a direct message, whether the bot was
//! addressed (an @mention or a reply to one of its messages), with the
//! mention taken out of the text.

use serde::Deserialize;

/// The parts of an `Update` this channel reads (Telegram sends many more
/// fields; serde ignores them).
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<Message>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub message_id: i64,
    /// Set for messages in a forum topic (and, in supergroups, for replies).
    #[serde(default)]
    pub message_thread_id: Option<i64>,
    /// True when the message belongs to a forum topic.
    #[serde(default)]
    pub is_topic_message: bool,
    #[serde(default)]
    pub from: Option<User>,
    pub chat: Chat,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub entities: Vec<Entity>,
    #[serde(default)]
    pub reply_to_message: Option<Box<Message>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    pub id: i64,
    /// `private`, `group`, `supergroup` or `channel`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A special span of the text; offsets and lengths are in UTF-16 units.
#[derive(Debug, Clone, Deserialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: String,
    pub offset: usize,
    pub length: usize,
    /// For `text_mention`: the user mentioned (one without a username).
    #[serde(default)]
    pub user: Option<User>,
}

/// Who the bot is, to tell when it is addressed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotIdentity {
    /// Without the `@`.
    pub username: String,
    pub id: Option<i64>,
}

/// What one update becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    Message(Inbound),
    /// Nothing for the agent; the reason is logged.
    Ignored(String),
}

/// The fields of the host's `inbound-message`, built natively testable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub user_id: String,
    pub user_name: Option<String>,
    pub conversation_id: String,
    pub thread_id: Option<String>,
    pub message_id: String,
    pub text: String,
    pub is_direct: bool,
    pub mentions_bot: bool,
    pub metadata: Vec<(String, String)>,
}

/// The metadata keys handed back on respond.
pub const META_CHAT_ID: &str = "chat_id";
pub const META_MESSAGE_ID: &str = "message_id";
pub const META_THREAD_ID: &str = "message_thread_id";
pub const META_CHAT_TYPE: &str = "chat_type";

/// The update's message as an inbound message, or why there is none.
pub fn map_update(update: &Update, bot: &BotIdentity) -> Mapped {
    let Some(message) = &update.message else {
        return Mapped::Ignored(format!(
            "update {} carries no new message (an edit, a channel post, a callback …)",
            update.update_id
        ));
    };
    let Some(text) = &message.text else {
        return Mapped::Ignored(format!(
            "update {}: message {} has no text (a photo, sticker, service message …)",
            update.update_id, message.message_id
        ));
    };
    let Some(from) = &message.from else {
        return Mapped::Ignored(format!(
            "update {}: message has no sender",
            update.update_id
        ));
    };
    if from.is_bot {
        // Answering bots risks two bots talking to each other forever.
        return Mapped::Ignored(format!(
            "update {}: message from the bot {}",
            update.update_id, from.id
        ));
    }
    let chat = &message.chat;
    let is_direct = chat.kind == "private";
    let mention_spans = mentions_of(message, text, bot);
    let mentions_bot = !is_direct && (!mention_spans.is_empty() || replies_to_bot(message, bot));
    let text = if mention_spans.is_empty() {
        text.clone()
    } else {
        strip_spans(text, &mention_spans)
    };
    // Only a forum topic is a thread of its own; reply chains in a
    // supergroup also carry a thread id but are one conversation.
    let topic = message
        .message_thread_id
        .filter(|_| message.is_topic_message);
    let mut metadata = vec![
        (META_CHAT_ID.to_string(), chat.id.to_string()),
        (META_MESSAGE_ID.to_string(), message.message_id.to_string()),
        (META_CHAT_TYPE.to_string(), chat.kind.clone()),
    ];
    if let Some(t) = topic {
        metadata.push((META_THREAD_ID.to_string(), t.to_string()));
    }
    Mapped::Message(Inbound {
        user_id: from.id.to_string(),
        user_name: display_name(from),
        conversation_id: chat.id.to_string(),
        thread_id: topic.map(|t| t.to_string()),
        message_id: message_key(chat.id, message.message_id),
        text,
        is_direct,
        mentions_bot,
        metadata,
    })
}

/// Message ids are only unique within a chat.
pub fn message_key(chat_id: i64, message_id: i64) -> String {
    format!("{chat_id}:{message_id}")
}

/// The Telegram message id inside a `message_key`.
pub fn message_id_of(key: &str) -> Option<i64> {
    key.rsplit_once(':').map_or(key, |(_, id)| id).parse().ok()
}

/// The @username when there is one (what an owner puts in `allow-users`),
/// else the person's name.
fn display_name(user: &User) -> Option<String> {
    if let Some(u) = &user.username {
        return Some(u.clone());
    }
    let name = match &user.last_name {
        Some(last) => format!("{} {last}", user.first_name),
        None => user.first_name.clone(),
    };
    Some(name).filter(|n| !n.trim().is_empty())
}

fn replies_to_bot(message: &Message, bot: &BotIdentity) -> bool {
    let Some(from) = message
        .reply_to_message
        .as_ref()
        .and_then(|r| r.from.as_ref())
    else {
        return false;
    };
    match bot.id {
        Some(id) => from.id == id,
        None => {
            from.is_bot
                && from.username.as_deref().is_some_and(|u| {
                    !bot.username.is_empty() && u.eq_ignore_ascii_case(&bot.username)
                })
        }
    }
}

/// UTF-16 spans of the text that address the bot: `@botname` mentions,
/// `/command@botname`'s suffix, and text mentions of the bot's user.
fn mentions_of(message: &Message, text: &str, bot: &BotIdentity) -> Vec<(usize, usize)> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let slice = |offset: usize, length: usize| {
        units
            .get(offset..offset.saturating_add(length))
            .map(String::from_utf16_lossy)
    };
    let is_bot_name =
        |name: &str| !bot.username.is_empty() && name.eq_ignore_ascii_case(&bot.username);
    let mut spans = Vec::new();
    for e in &message.entities {
        match e.kind.as_str() {
            "mention"
                if slice(e.offset, e.length)
                    .is_some_and(|s| is_bot_name(s.trim_start_matches('@'))) =>
            {
                spans.push((e.offset, e.length));
            }
            "bot_command" => {
                // `/help@my_bot`: the command stays, the `@my_bot` goes.
                if let Some(s) = slice(e.offset, e.length)
                    && let Some((command, name)) = s.split_once('@')
                    && is_bot_name(name)
                {
                    let at = e.offset + command.encode_utf16().count();
                    spans.push((at, e.length - (at - e.offset)));
                }
            }
            "text_mention" if bot.id.is_some() && e.user.as_ref().map(|u| u.id) == bot.id => {
                // The span is the bot's display name: the bot was
                // addressed, the words stay.
                spans.push((e.offset, 0));
            }
            _ => {}
        }
    }
    if spans.is_empty() && message.entities.is_empty() {
        // A message relayed without entities: find `@botname` as a word.
        spans = find_mentions(&units, &bot.username);
    }
    spans
}

fn find_mentions(units: &[u16], username: &str) -> Vec<(usize, usize)> {
    if username.is_empty() {
        return Vec::new();
    }
    let needle: Vec<u16> = format!("@{}", username.to_lowercase())
        .encode_utf16()
        .collect();
    let lower: Vec<u16> = String::from_utf16_lossy(units)
        .to_lowercase()
        .encode_utf16()
        .collect();
    if lower.len() != units.len() {
        return Vec::new(); // lower-casing changed lengths; offsets would lie
    }
    let word = |u: u16| u < 128 && ((u as u8).is_ascii_alphanumeric() || u == u16::from(b'_'));
    let mut spans = Vec::new();
    let mut i = 0;
    while i + needle.len() <= lower.len() {
        let end = i + needle.len();
        if lower[i..end] == needle[..]
            && (i == 0 || !word(lower[i - 1]))
            && lower.get(end).is_none_or(|&u| !word(u))
        {
            spans.push((i, needle.len()));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// `text` without the given UTF-16 spans, closing up the space each
/// leaves (and the `,` or `:` after a leading "@bot, …"); the rest of the
/// text, indentation included, is untouched.
fn strip_spans(text: &str, spans: &[(usize, usize)]) -> String {
    const SPACE: u16 = b' ' as u16;
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut kept: Vec<u16> = Vec::with_capacity(units.len());
    let mut at = 0;
    let mut sorted = spans.to_vec();
    sorted.sort_unstable();
    for (offset, length) in sorted {
        if offset < at || offset > units.len() {
            continue;
        }
        kept.extend_from_slice(&units[at..offset]);
        at = (offset + length).min(units.len());
        if length == 0 {
            continue;
        }
        let leading = kept.iter().all(|&u| u == SPACE);
        if leading {
            while units
                .get(at)
                .is_some_and(|&u| u == u16::from(b',') || u == u16::from(b':'))
            {
                at += 1;
            }
        }
        if (leading || kept.last() == Some(&SPACE)) && units.get(at) == Some(&SPACE) {
            at += 1;
        } else if kept.last() == Some(&SPACE)
            && units
                .get(at)
                .is_some_and(|&u| u < 128 && b",.:;!?".contains(&(u as u8)))
        {
            // "hey @bot, look" reads "hey, look".
            kept.pop();
        }
    }
    kept.extend_from_slice(&units[at..]);
    String::from_utf16_lossy(&kept).trim().to_string()
}
