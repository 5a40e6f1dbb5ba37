//! `[channel]` in a channel component's manifest: how the host verifies
//! the provider's webhooks before the component sees anything (a guest
//! never holds a signing secret), how it answers a GET challenge, where a
//! request's event id is for dedupe, and which owner setting moves the
//! component's HTTP grant to another base URL (tests point it at loopback).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ChannelSection {
    /// The `[channels.<name>]` key whose URL replaces the scheme, host,
    /// port and path prefix of the manifest's HTTP rules and the hosts of
    /// its secrets. Default `api-base-url`.
    #[serde(default)]
    pub base_url_key: Option<String>,
    /// The provider URL the manifest's HTTP rules and secret paths are
    /// written for (`https://api.telegram.org`). With it, an owner's base
    /// URL keeps the rules' paths below its own path; without it, the
    /// owner's URL replaces them.
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub verify: Option<Verify>,
    #[serde(default)]
    pub challenge: Option<Challenge>,
    #[serde(default)]
    pub dedupe: Option<Dedupe>,
}

impl ChannelSection {
    pub fn base_url_key(&self) -> &str {
        self.base_url_key.as_deref().unwrap_or("api-base-url")
    }

    /// Every vault secret the host itself needs for this channel.
    pub fn host_secrets(&self) -> Vec<&str> {
        let mut names = Vec::new();
        if let Some(v) = &self.verify {
            names.push(v.secret());
        }
        if let Some(c) = &self.challenge {
            names.push(c.secret.as_str());
        }
        names
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(Verify::HmacSha256(h)) = &self.verify {
            if !h.signed_payload.contains("{body}") {
                return Err("channel.verify: signed-payload must contain {body}".into());
            }
            if h.signed_payload.contains("{timestamp}") && h.timestamp_header.is_none() {
                return Err(
                    "channel.verify: signed-payload uses {timestamp} but no timestamp-header is named"
                        .into(),
                );
            }
        }
        if let Some(d) = &self.dedupe
            && !(d.event_id.is_empty() || d.event_id.starts_with('/'))
        {
            return Err("channel.dedupe: event-id must be a JSON pointer (\"/event_id\")".into());
        }
        Ok(())
    }
}

/// How an inbound webhook proves it comes from the provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case",
    tag = "kind",
    deny_unknown_fields
)]
pub enum Verify {
    /// A header carries the shared secret itself (Telegram's
    /// `X-Telegram-Bot-Api-Secret-Token`).
    HeaderSecret { header: String, secret: String },
    /// An HMAC-SHA256 signature over a recipe of the raw body and a
    /// timestamp (Slack v0, WhatsApp `X-Hub-Signature-256`).
    HmacSha256(HmacVerify),
}

impl Verify {
    pub fn secret(&self) -> &str {
        match self {
            Verify::HeaderSecret { secret, .. } => secret,
            Verify::HmacSha256(h) => &h.secret,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HmacVerify {
    pub secret: String,
    pub signature_header: String,
    /// Text before the signature in its header (`v0=`, `sha256=`).
    #[serde(default)]
    pub signature_prefix: String,
    /// `hex` (default) or `base64`.
    #[serde(default = "default_encoding")]
    pub encoding: SignatureEncoding,
    pub timestamp_header: Option<String>,
    /// Requests whose timestamp is further than this from now are refused.
    #[serde(default = "default_window")]
    pub window_secs: u64,
    /// What is signed: `{body}` is the raw body, `{timestamp}` the
    /// timestamp header's value (`v0:{timestamp}:{body}` for Slack).
    #[serde(default = "default_payload")]
    pub signed_payload: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureEncoding {
    Hex,
    Base64,
}

impl SignatureEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureEncoding::Hex => "hex",
            SignatureEncoding::Base64 => "base64",
        }
    }
}

fn default_encoding() -> SignatureEncoding {
    SignatureEncoding::Hex
}
fn default_window() -> u64 {
    300
}
fn default_payload() -> String {
    "{body}".into()
}

/// A GET subscription challenge the host answers itself when the verify
/// token matches (WhatsApp: `hub.mode=subscribe`, `hub.verify_token`,
/// `hub.challenge`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Challenge {
    pub mode_param: String,
    pub mode_value: String,
    pub token_param: String,
    pub challenge_param: String,
    /// The vault secret the verify token must equal.
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Dedupe {
    /// JSON pointer to the provider's event id in the body (`/event_id`,
    /// `/update_id`). A request whose id was seen is acknowledged and dropped.
    pub event_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_shape_parses_and_checks() {
        let s: ChannelSection = toml::from_str(
            r#"
[verify]
kind = "hmac-sha256"
secret = "slack_signing_secret"
signature-header = "X-Slack-Signature"
signature-prefix = "v0="
timestamp-header = "X-Slack-Request-Timestamp"
signed-payload = "v0:{timestamp}:{body}"
[dedupe]
event-id = "/event_id"
"#,
        )
        .unwrap();
        s.validate().unwrap();
        assert_eq!(s.host_secrets(), ["slack_signing_secret"]);
        assert_eq!(s.base_url_key(), "api-base-url");
        let Some(Verify::HmacSha256(h)) = &s.verify else {
            panic!("hmac")
        };
        assert_eq!(h.window_secs, 300);
        assert_eq!(h.encoding, SignatureEncoding::Hex);
    }

    #[test]
    fn a_recipe_without_its_parts_is_refused() {
        let mut s = ChannelSection {
            verify: Some(Verify::HmacSha256(HmacVerify {
                secret: "s".into(),
                signature_header: "x".into(),
                signature_prefix: String::new(),
                encoding: SignatureEncoding::Hex,
                timestamp_header: None,
                window_secs: 300,
                signed_payload: "{timestamp}:{body}".into(),
            })),
            ..ChannelSection::default()
        };
        assert!(s.validate().unwrap_err().contains("timestamp-header"));
        if let Some(Verify::HmacSha256(h)) = &mut s.verify {
            h.signed_payload = "x".into();
        }
        assert!(s.validate().unwrap_err().contains("{body}"));
    }
}
