//! The owner's `[channels.<name>]` keys, read through `config.get`
//! (strings as written; numbers as their TOML text). Values are trimmed
//! and an empty value counts as unset.

use crate::ChannelError;

/// Reads keys through `get` (the `config` capability, or a map in tests).
pub struct Config<F>(pub F);

impl<F> Config<F>
where
    F: Fn(&str) -> Result<Option<String>, ChannelError>,
{
    pub fn string(&self, key: &str) -> Result<Option<String>, ChannelError> {
        Ok((self.0)(key)?
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()))
    }

    /// An http(s) URL without a trailing `/`.
    pub fn url(&self, key: &str, default: &str) -> Result<String, ChannelError> {
        let url = self.string(key)?.unwrap_or_else(|| default.to_string());
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ChannelError::Invalid(format!(
                "config `{key}` = `{url}` must start with https:// or http://"
            )));
        }
        Ok(url.trim_end_matches('/').to_string())
    }

    /// A required URL: unset is an error that names the key.
    pub fn required_url(&self, key: &str, why: &str) -> Result<String, ChannelError> {
        match self.string(key)? {
            Some(_) => self.url(key, ""),
            None => Err(ChannelError::Invalid(format!(
                "config `{key}` is not set: {why}"
            ))),
        }
    }

    pub fn u32_or(&self, key: &str, default: u32) -> Result<u32, ChannelError> {
        match self.string(key)? {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                ChannelError::Invalid(format!(
                    "config `{key}` = `{v}` must be a whole number from 0 to {}",
                    u32::MAX
                ))
            }),
        }
    }

    /// One of `allowed`, or `default` when unset.
    pub fn choice(
        &self,
        key: &str,
        allowed: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, ChannelError> {
        match self.string(key)? {
            None => Ok(default),
            Some(v) => allowed.iter().copied().find(|a| *a == v).ok_or_else(|| {
                ChannelError::Invalid(format!(
                    "config `{key}` = `{v}` must be one of: {}",
                    allowed.join(", ")
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(
        pairs: &[(&str, &str)],
    ) -> Config<impl Fn(&str) -> Result<Option<String>, ChannelError>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config(move |k: &str| Ok(map.get(k).cloned()))
    }

    #[test]
    fn strings_are_trimmed_and_empty_is_unset() {
        let c = config(&[("a", "  x "), ("b", "  ")]);
        assert_eq!(c.string("a").unwrap().as_deref(), Some("x"));
        assert_eq!(c.string("b").unwrap(), None);
        assert_eq!(c.string("c").unwrap(), None);
    }

    #[test]
    fn urls_are_checked_and_lose_the_trailing_slash() {
        let c = config(&[
            ("api-base-url", "http://127.0.0.1:9/api/"),
            ("bad", "ftp://x"),
        ]);
        assert_eq!(
            c.url("api-base-url", "https://slack.com/api").unwrap(),
            "http://127.0.0.1:9/api"
        );
        assert_eq!(
            c.url("unset", "https://slack.com/api").unwrap(),
            "https://slack.com/api"
        );
        let ChannelError::Invalid(m) = c.url("bad", "https://x").unwrap_err() else {
            panic!()
        };
        assert!(m.contains("`bad` = `ftp://x`"), "{m}");
        let ChannelError::Invalid(m) = c
            .required_url("callback-url", "needed for callbacks")
            .unwrap_err()
        else {
            panic!()
        };
        assert!(
            m.contains("`callback-url` is not set: needed for callbacks"),
            "{m}"
        );
    }

    #[test]
    fn numbers_and_choices() {
        let c = config(&[
            ("timeout-ms", "1500"),
            ("n", "-1"),
            ("reply", "callback"),
            ("r2", "maybe"),
        ]);
        assert_eq!(c.u32_or("timeout-ms", 60_000).unwrap(), 1500);
        assert_eq!(c.u32_or("unset", 60_000).unwrap(), 60_000);
        assert!(
            matches!(c.u32_or("n", 1), Err(ChannelError::Invalid(m)) if m.contains("`n` = `-1`"))
        );
        let modes = ["response", "callback"];
        assert_eq!(c.choice("reply", &modes, "response").unwrap(), "callback");
        assert_eq!(c.choice("unset", &modes, "response").unwrap(), "response");
        assert!(
            matches!(c.choice("r2", &modes, "response"), Err(ChannelError::Invalid(m)) if m.contains("one of: response, callback"))
        );
    }
}
