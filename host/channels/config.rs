//! `[gateway]` and `[channels.<name>]` in config.toml.
//!
//! A channel runs only when the owner configured it (an installed but
//! unconfigured channel is listed, not started). The host reads the policy
//! keys below; every key, these included, is also readable by the component
//! through `config.get`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[gateway]`: the HTTP listener for webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GatewayConfig {
    /// `127.0.0.1:8080`. None: no listener (polling channels still run).
    #[serde(default)]
    pub listen: Option<String>,
    /// Larger webhook bodies are refused with 413.
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
}

fn default_body_limit() -> usize {
    1024 * 1024
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: None,
            body_limit_bytes: default_body_limit(),
        }
    }
}

impl GatewayConfig {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(listen) = &self.listen
            && listen.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(format!(
                "gateway.listen `{listen}` must be an address and port, like \"127.0.0.1:8080\""
            ));
        }
        if self.body_limit_bytes == 0 {
            return Err("gateway.body-limit-bytes must be greater than 0".into());
        }
        Ok(())
    }
}

/// Who may talk to the assistant when not on `allow-users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownUsers {
    /// Answer with a pairing code the owner approves.
    Pair,
    /// Drop their messages silently.
    Ignore,
    /// Anyone may talk (a private Slack workspace, a test).
    Open,
}

/// Which group messages run a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Groups {
    /// Only when the bot is mentioned or replied to.
    Mention,
    All,
    Off,
}

/// One configured channel, as the host reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelSettings {
    pub allow_users: Vec<String>,
    pub unknown_users: UnknownUsers,
    pub groups: Groups,
    /// Every key as the component's `config.get` answers it.
    pub values: BTreeMap<String, String>,
}

impl ChannelSettings {
    pub fn parse(name: &str, table: &toml::Table) -> Result<ChannelSettings, String> {
        let at = |key: &str| format!("channels.{name}.{key}");
        let mut values = BTreeMap::new();
        for (key, value) in table {
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                    value.to_string()
                }
                toml::Value::Array(items) => {
                    let mut parts = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            toml::Value::String(s) => parts.push(s.clone()),
                            toml::Value::Integer(i) => parts.push(i.to_string()),
                            _ => return Err(format!("{}: list items must be strings", at(key))),
                        }
                    }
                    parts.join(",")
                }
                _ => {
                    return Err(format!(
                        "{}: must be a string, number, boolean or list",
                        at(key)
                    ));
                }
            };
            values.insert(key.clone(), text);
        }
        let allow_users = values
            .get("allow-users")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let unknown_users = match values.get("unknown-users").map(String::as_str) {
            None | Some("pair") => UnknownUsers::Pair,
            Some("ignore") => UnknownUsers::Ignore,
            Some("open") => UnknownUsers::Open,
            Some(other) => {
                return Err(format!(
                    "{}: `{other}` must be \"pair\", \"ignore\" or \"open\"",
                    at("unknown-users")
                ));
            }
        };
        let groups = match values.get("groups").map(String::as_str) {
            None | Some("mention") => Groups::Mention,
            Some("all") => Groups::All,
            Some("off") => Groups::Off,
            Some(other) => {
                return Err(format!(
                    "{}: `{other}` must be \"mention\", \"all\" or \"off\"",
                    at("groups")
                ));
            }
        };
        Ok(ChannelSettings {
            allow_users,
            unknown_users,
            groups,
            values,
        })
    }

    pub fn allows(&self, user_id: &str, user_name: Option<&str>) -> bool {
        self.allow_users
            .iter()
            .any(|a| a == user_id || Some(a.as_str()) == user_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ChannelSettings, String> {
        ChannelSettings::parse("telegram", &toml::from_str(text).unwrap())
    }

    #[test]
    fn policy_keys_parse_and_everything_is_readable() {
        let s = parse(
            "allow-users = [\"42\", \"alice\"]\nunknown-users = \"ignore\"\nmode = \"poll\"\npoll-timeout-secs = 5\n",
        )
        .unwrap();
        assert!(s.allows("42", None));
        assert!(s.allows("7", Some("alice")));
        assert!(!s.allows("7", Some("bob")));
        assert_eq!(s.unknown_users, UnknownUsers::Ignore);
        assert_eq!(s.groups, Groups::Mention);
        assert_eq!(s.values["mode"], "poll");
        assert_eq!(s.values["poll-timeout-secs"], "5");
        assert_eq!(s.values["allow-users"], "42,alice");
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = parse("unknown-users = \"maybe\"").unwrap_err();
        assert!(e.contains("channels.telegram.unknown-users"), "{e}");
        let e = parse("groups = 3").unwrap_err();
        assert!(e.contains("channels.telegram.groups"), "{e}");
        let e = parse("x = { a = 1 }").unwrap_err();
        assert!(e.contains("channels.telegram.x"), "{e}");
    }

    #[test]
    fn gateway_listen_is_checked() {
        let g = GatewayConfig {
            listen: Some("localhost".into()),
            ..GatewayConfig::default()
        };
        assert!(g.validate().unwrap_err().contains("127.0.0.1:8080"));
    }
}
