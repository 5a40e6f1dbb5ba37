//! `[channels.telegram]` as read through the `config` capability.

use ironclaw_sdk::channel::ChannelError;

pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
pub const DEFAULT_POLL_TIMEOUT_SECS: u32 = 25;
/// The manifest's `wall-ms` is 60 s; a long poll must end well inside it.
pub const MAX_POLL_TIMEOUT_SECS: u32 = 50;
pub const DEFAULT_POLL_INTERVAL_MS: u32 = 100;

pub const BOT_TOKEN_SECRET: &str = "telegram_bot_token";
pub const WEBHOOK_SECRET: &str = "telegram_webhook_secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Webhook,
    Poll,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub api_base: String,
    pub mode: Mode,
    /// The public URL Telegram posts updates to (webhook mode).
    pub webhook_url: Option<String>,
    /// Without the `@`.
    pub bot_username: Option<String>,
    pub poll_timeout_secs: u32,
    pub poll_interval_ms: u32,
    /// `Markdown` (default) or empty for plain text.
    pub parse_mode: Option<String>,
}

impl Settings {
    /// Reads every key through `get`, refusing bad values with the key's
    /// name and what it accepts.
    pub fn read(
        mut get: impl FnMut(&str) -> Result<Option<String>, ChannelError>,
    ) -> Result<Settings, ChannelError> {
        let mut text = |key: &str| -> Result<Option<String>, ChannelError> {
            Ok(get(key)?
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()))
        };
        let api_base = text("api-base-url")?.unwrap_or_else(|| DEFAULT_API_BASE.to_string());
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            return Err(invalid(format!(
                "channels.telegram.api-base-url `{api_base}` must be an http(s) URL"
            )));
        }
        let mode = match text("mode")?.as_deref() {
            None | Some("poll") => Mode::Poll,
            Some("webhook") => Mode::Webhook,
            Some(other) => {
                return Err(invalid(format!(
                    "channels.telegram.mode `{other}` must be \"webhook\" or \"poll\""
                )));
            }
        };
        let webhook_url = text("webhook-url")?;
        if let Some(url) = &webhook_url
            && !url.starts_with("https://")
            && !url.starts_with("http://")
        {
            return Err(invalid(format!(
                "channels.telegram.webhook-url `{url}` must be the public https URL of /webhook/telegram"
            )));
        }
        if mode == Mode::Webhook && webhook_url.is_none() {
            return Err(invalid(
                "channels.telegram.mode = \"webhook\" needs webhook-url: the public https URL Telegram posts to (…/webhook/telegram)".into(),
            ));
        }
        let bot_username = text("bot-username")?.map(|u| u.trim_start_matches('@').to_string());
        let poll_timeout_secs = number(
            text("poll-timeout-secs")?,
            "poll-timeout-secs",
            DEFAULT_POLL_TIMEOUT_SECS,
            0..=MAX_POLL_TIMEOUT_SECS,
        )?;
        let poll_interval_ms = number(
            text("poll-interval-ms")?,
            "poll-interval-ms",
            DEFAULT_POLL_INTERVAL_MS,
            0..=3_600_000,
        )?;
        let parse_mode = match text("parse-mode")? {
            None => Some("Markdown".to_string()),
            Some(m) if m.eq_ignore_ascii_case("none") || m.eq_ignore_ascii_case("plain") => None,
            Some(m) if ["Markdown", "MarkdownV2", "HTML"].contains(&m.as_str()) => Some(m),
            Some(m) => {
                return Err(invalid(format!(
                    "channels.telegram.parse-mode `{m}` must be Markdown, MarkdownV2, HTML or none"
                )));
            }
        };
        Ok(Settings {
            api_base,
            mode,
            webhook_url,
            bot_username,
            poll_timeout_secs,
            poll_interval_ms,
            parse_mode,
        })
    }
}

fn number(
    value: Option<String>,
    key: &str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ChannelError> {
    let Some(v) = value else {
        return Ok(default);
    };
    match v.parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(invalid(format!(
            "channels.telegram.{key} `{v}` must be a whole number from {} to {}",
            range.start(),
            range.end()
        ))),
    }
}

fn invalid(message: String) -> ChannelError {
    ChannelError::Invalid(message)
}

/// The message for a missing secret: which, and the command that sets it.
pub fn missing_secret(name: &str, why: &str) -> ChannelError {
    ChannelError::Invalid(format!(
        "secret `{name}` is not set ({why}): run `ironclaw secrets set {name}`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<Settings, ChannelError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::read(|k| Ok(map.get(k).cloned()))
    }

    fn invalid_text(r: Result<Settings, ChannelError>) -> String {
        match r {
            Err(ChannelError::Invalid(m)) => m,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let s = read(&[]).unwrap();
        assert_eq!(s.api_base, DEFAULT_API_BASE);
        assert_eq!(s.mode, Mode::Poll);
        assert_eq!(s.poll_timeout_secs, 25);
        assert_eq!(s.parse_mode.as_deref(), Some("Markdown"));
        assert_eq!(s.bot_username, None);
    }

    #[test]
    fn webhook_mode_needs_its_url() {
        let m = invalid_text(read(&[("mode", "webhook")]));
        assert!(m.contains("webhook-url"), "{m}");
        let s = read(&[
            ("mode", "webhook"),
            ("webhook-url", "https://me.example/webhook/telegram"),
            ("bot-username", "@my_bot"),
        ])
        .unwrap();
        assert_eq!(s.mode, Mode::Webhook);
        assert_eq!(s.bot_username.as_deref(), Some("my_bot"));
    }

    #[test]
    fn bad_values_name_their_key() {
        assert!(invalid_text(read(&[("mode", "push")])).contains("channels.telegram.mode"));
        assert!(invalid_text(read(&[("poll-timeout-secs", "90")])).contains("from 0 to 50"));
        assert!(invalid_text(read(&[("poll-timeout-secs", "soon")])).contains("poll-timeout-secs"));
        assert!(
            invalid_text(read(&[("api-base-url", "api.telegram.org")])).contains("api-base-url")
        );
        assert!(invalid_text(read(&[("parse-mode", "bbcode")])).contains("parse-mode"));
        assert_eq!(read(&[("parse-mode", "none")]).unwrap().parse_mode, None);
    }

    #[test]
    fn missing_secret_names_the_command() {
        match missing_secret(BOT_TOKEN_SECRET, "every Bot API call needs it") {
            ChannelError::Invalid(m) => {
                assert!(m.contains("ironclaw secrets set telegram_bot_token"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
}
