//! Meta's `messages` webhook payload read into inbound messages. Pure
//! logic: the host has already verified `X-Hub-Signature-256`.

use channel_common::{Attachment, InboundMessage};
use serde_json::Value;

/// What one webhook carries.
#[derive(Debug, Default)]
pub struct Batch {
    pub messages: Vec<InboundMessage>,
    /// What was acknowledged and dropped (statuses, unsupported types).
    pub ignored: Vec<String>,
}

/// Media message types whose content is a media id (fetched through the
/// Graph API) with an optional caption.
const MEDIA: &[&str] = &["image", "document", "audio", "video", "sticker"];

/// Reads a webhook body. `Err` is a message for a 400 answer.
pub fn parse(body: &[u8]) -> Result<Batch, String> {
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    match payload.get("object").and_then(Value::as_str) {
        Some("whatsapp_business_account") => {}
        Some(other) => {
            return Err(format!(
                "`object` is `{other}`, not `whatsapp_business_account`"
            ));
        }
        None => return Err("payload has no string `object`".into()),
    }
    let entries = payload
        .get("entry")
        .and_then(Value::as_array)
        .ok_or("payload has no `entry` array")?;
    let mut batch = Batch::default();
    for entry in entries {
        let changes = entry
            .get("changes")
            .and_then(Value::as_array)
            .ok_or("an entry has no `changes` array")?;
        for change in changes {
            let field = change.get("field").and_then(Value::as_str).unwrap_or("");
            if field != "messages" {
                batch.ignored.push(format!("field `{field}`"));
                continue;
            }
            let value = change
                .get("value")
                .filter(|v| v.is_object())
                .ok_or("a messages change has no `value` object")?;
            read_value(value, &mut batch)?;
        }
    }
    Ok(batch)
}

fn read_value(value: &Value, batch: &mut Batch) -> Result<(), String> {
    if let Some(statuses) = value.get("statuses").and_then(Value::as_array) {
        for s in statuses {
            let status = s.get("status").and_then(Value::as_str).unwrap_or("?");
            batch.ignored.push(format!("status `{status}`"));
        }
    }
    let Some(messages) = value.get("messages").and_then(Value::as_array) else {
        return Ok(());
    };
    let phone_number_id = value
        .pointer("/metadata/phone_number_id")
        .and_then(Value::as_str);
    let contacts = value.get("contacts").and_then(Value::as_array);
    for message in messages {
        match read_message(message, contacts, phone_number_id)? {
            Ok(m) => batch.messages.push(m),
            Err(why) => batch.ignored.push(why),
        }
    }
    Ok(())
}

/// `Ok(Ok(message))`, `Ok(Err(why it is skipped))`, or `Err` for a
/// message that is not WhatsApp's shape.
fn read_message(
    message: &Value,
    contacts: Option<&Vec<Value>>,
    phone_number_id: Option<&str>,
) -> Result<Result<InboundMessage, String>, String> {
    let field = |name: &str| message.get(name).and_then(Value::as_str);
    let from = field("from").ok_or("a message has no string `from`")?;
    let id = field("id").ok_or("a message has no string `id`")?;
    let kind = field("type").ok_or("a message has no string `type`")?;
    let mut attachments = Vec::new();
    let text = match kind {
        "text" => message
            .pointer("/text/body")
            .and_then(Value::as_str)
            .ok_or("a text message has no string `text.body`")?
            .to_string(),
        // A quick-reply button's label.
        "button" => message
            .pointer("/button/text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        "interactive" => message
            .pointer("/interactive/button_reply/title")
            .or_else(|| message.pointer("/interactive/list_reply/title"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        media if MEDIA.contains(&media) => {
            let Some(m) = message.get(media) else {
                return Ok(Err(format!("a `{media}` message without its object")));
            };
            let Some(media_id) = m.get("id").and_then(Value::as_str) else {
                return Ok(Err(format!("a `{media}` message without a media id")));
            };
            attachments.push(Attachment {
                mime_type: m
                    .get("mime_type")
                    .and_then(Value::as_str)
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                name: m
                    .get("filename")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                reference: media_id.to_string(),
                size_bytes: None,
            });
            m.get("caption")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        }
        other => return Ok(Err(format!("message type `{other}`"))),
    };
    if text.trim().is_empty() && attachments.is_empty() {
        return Ok(Err(format!("an empty `{kind}` message")));
    }
    let user_name = contacts
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("wa_id").and_then(Value::as_str) == Some(from))
        })
        .and_then(|c| c.pointer("/profile/name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let metadata = phone_number_id
        .map(|p| vec![("phone_number_id".to_string(), p.to_string())])
        .unwrap_or_default();
    Ok(Ok(InboundMessage {
        user_id: from.to_string(),
        user_name,
        // The Cloud API talks to one person at a time: the chat is the
        // sender's number, and every message is direct.
        conversation_id: from.to_string(),
        thread_id: None,
        message_id: Some(id.to_string()),
        text,
        attachments,
        is_direct: true,
        mentions_bot: false,
        metadata,
    }))
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
