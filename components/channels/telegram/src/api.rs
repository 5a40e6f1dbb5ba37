//! The Bot API's answer envelope — `{"ok":true,"result":…}` or
//! `{"ok":false,"error_code":…,"description":…,"parameters":{…}}` — and
//! what each failure means for the host: try again later, give up, or a
//! setup the owner must fix.

use ironclaw_sdk::channel::ChannelError;
use serde::Deserialize;
use serde_json::Value;

/// Where the bot token goes: the host replaces this with the secret.
pub const TOKEN_PLACEHOLDER: &str = "TELEGRAM_BOT_TOKEN";

/// `<base>/bot<token>/<method>`.
pub fn method_url(base: &str, method: &str) -> String {
    format!(
        "{}/bot{TOKEN_PLACEHOLDER}/{method}",
        base.trim_end_matches('/')
    )
}

#[derive(Debug, Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Debug, Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u32>,
    #[serde(default)]
    migrate_to_chat_id: Option<i64>,
}

/// Why a call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request never got an answer (network, host policy, timeout).
    Transport(String),
    /// Telegram answered `ok: false` (or a non-JSON error page).
    Telegram {
        code: u16,
        description: String,
        retry_after: Option<u32>,
        migrate_to_chat_id: Option<i64>,
    },
}

impl ApiError {
    /// Telegram refused the Markdown (`Bad Request: can't parse entities:
    /// …`): the same text goes again without `parse_mode`.
    pub fn is_entity_parse_error(&self) -> bool {
        matches!(self, ApiError::Telegram { code: 400, description, .. }
            if description.to_ascii_lowercase().contains("can't parse entities"))
    }

    /// 409: another getUpdates is running, or a webhook is set.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ApiError::Telegram { code: 409, .. })
    }

    pub fn describe(&self, method: &str) -> String {
        match self {
            ApiError::Transport(why) => format!("telegram {method}: {why}"),
            ApiError::Telegram {
                code, description, ..
            } => format!("telegram {method}: {code} {description}"),
        }
    }

    /// The channel error the host acts on: 429 and 5xx and lost requests
    /// are retried (after Telegram's `retry_after` when it gave one); a
    /// rejected token or a missing right is the owner's to fix; the rest
    /// fails this delivery.
    pub fn into_channel_error(self, method: &str) -> ChannelError {
        let text = self.describe(method);
        match self {
            ApiError::Transport(_) => ChannelError::RetryAfter(None),
            ApiError::Telegram {
                code: 429,
                retry_after,
                ..
            } => ChannelError::RetryAfter(retry_after.or(Some(1))),
            ApiError::Telegram { code, .. } if code >= 500 => ChannelError::RetryAfter(None),
            ApiError::Telegram { code: 401, .. } | ApiError::Telegram { code: 404, .. } => {
                ChannelError::Invalid(format!(
                    "{text} — Telegram rejected the bot token; set the token BotFather gave with `ironclaw secrets set telegram_bot_token`"
                ))
            }
            ApiError::Telegram { .. } => ChannelError::Failed(text),
        }
    }
}

/// The `result` of a call from the HTTP status and body.
pub fn parse_reply(status: u16, body: &[u8]) -> Result<Value, ApiError> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => {
            let snippet: String = String::from_utf8_lossy(body).chars().take(200).collect();
            return Err(ApiError::Telegram {
                code: if (200..300).contains(&status) {
                    502
                } else {
                    status
                },
                description: format!("not a Bot API answer ({e}): {snippet}"),
                retry_after: None,
                migrate_to_chat_id: None,
            });
        }
    };
    if envelope.ok {
        return Ok(envelope.result.unwrap_or(Value::Null));
    }
    let parameters = envelope.parameters;
    Err(ApiError::Telegram {
        code: envelope.error_code.unwrap_or(status),
        description: envelope
            .description
            .unwrap_or_else(|| "no description".to_string()),
        retry_after: parameters.as_ref().and_then(|p| p.retry_after),
        migrate_to_chat_id: parameters.as_ref().and_then(|p| p.migrate_to_chat_id),
    })
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_placeholder() {
        assert_eq!(
            method_url("https://api.telegram.org/", "getMe"),
            "https://api.telegram.org/botTELEGRAM_BOT_TOKEN/getMe"
        );
    }

    #[test]
    fn parses_success_and_errors() {
        let ok = parse_reply(200, br#"{"ok":true,"result":[{"update_id":1}]}"#).unwrap();
        assert_eq!(ok[0]["update_id"], 1);
        let conflict = parse_reply(
            409,
            br#"{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}"#,
        )
        .unwrap_err();
        assert!(conflict.is_conflict());
        assert!(!conflict.is_entity_parse_error());
        let limited = parse_reply(
            429,
            br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#,
        )
        .unwrap_err();
        assert!(matches!(
            limited.into_channel_error("sendMessage"),
            ChannelError::RetryAfter(Some(7))
        ));
        let page = parse_reply(502, b"<html>Bad Gateway</html>").unwrap_err();
        assert!(matches!(
            page.into_channel_error("getUpdates"),
            ChannelError::RetryAfter(None)
        ));
    }

    #[test]
    fn markdown_fallback_only_for_entity_errors() {
        let bad = parse_reply(
            400,
            br#"{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 11"}"#,
        )
        .unwrap_err();
        assert!(bad.is_entity_parse_error());
        let other = parse_reply(
            400,
            br#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
        )
        .unwrap_err();
        assert!(!other.is_entity_parse_error());
        assert!(matches!(
            other.into_channel_error("sendMessage"),
            ChannelError::Failed(m) if m.contains("chat not found")
        ));
    }

    #[test]
    fn a_rejected_token_names_the_fix() {
        let e = parse_reply(
            401,
            br#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
        )
        .unwrap_err();
        assert!(matches!(
            e.into_channel_error("getMe"),
            ChannelError::Invalid(m) if m.contains("ironclaw secrets set telegram_bot_token")
        ));
    }

    #[test]
    fn escapes_query_values() {
        assert_eq!(
            query_escape("https://x.example/webhook/telegram?a=1"),
            "https%3A%2F%2Fx.example%2Fwebhook%2Ftelegram%3Fa%3D1"
        );
        assert_eq!(query_escape(r#"["message"]"#), "%5B%22message%22%5D");
    }
}
