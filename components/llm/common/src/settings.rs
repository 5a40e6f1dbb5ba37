//! The owner's configuration of an adapter (`config::get`), read once per
//! call. Keys:
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `base-url` | the API root, e.g. `https://api.openai.com/v1` | the provider's |
//! | `model` | the model to ask; a request's `model` overrides it | none: required |
//! | `api-key-secret` | the secret the host injects | `<provider>_api_key` |
//! | `stream` | `true` / `false`: ask for server-sent events | `true` |
//! | `context-window` | override of the model table | the table's |
//! | `max-output-tokens` | override of the model table | the table's |
//! | `embedding-model` | the model `embed` uses (openai, gemini) | the provider's |
//! | `embedding-dimensions` | override of the embedding table | the table's |

use crate::LlmError;

/// One provider's defaults.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// The provider's short name, used in messages (`openai`).
    pub provider: &'static str,
    pub base_url: &'static str,
    /// The secret holding the API key.
    pub secret: &'static str,
    /// Whether `api-key-secret = ""` may turn the key off (a local
    /// OpenAI-compatible server such as Ollama needs none).
    pub key_optional: bool,
    /// `None` when the provider has no embeddings API.
    pub embedding_model: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub provider: &'static str,
    /// Without a trailing `/`.
    pub base_url: String,
    pub model: Option<String>,
    /// `None`: no key is used (only when the provider allows it).
    pub secret: Option<String>,
    pub stream: bool,
    pub context_window: Option<u32>,
    pub max_output_tokens: Option<u32>,
    pub embedding_model: Option<String>,
    pub embedding_dimensions: Option<u32>,
}

impl Settings {
    /// Reads every key through `get` (the `config` capability, or a map in
    /// tests). Values are trimmed; an empty value counts as unset, except
    /// `api-key-secret`, where empty means "no key" when the provider
    /// allows it.
    pub fn read(
        defaults: &Defaults,
        get: impl Fn(&str) -> Result<Option<String>, LlmError>,
    ) -> Result<Settings, LlmError> {
        let value = |key: &str| -> Result<Option<String>, LlmError> {
            Ok(get(key)?.map(|v| v.trim().to_string()))
        };
        let set = |key: &str| -> Result<Option<String>, LlmError> {
            Ok(value(key)?.filter(|v| !v.is_empty()))
        };
        let base_url = match set("base-url")? {
            Some(url) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(invalid(format!(
                        "config `base-url` = `{url}` must start with https:// or http://"
                    )));
                }
                url.trim_end_matches('/').to_string()
            }
            None => defaults.base_url.to_string(),
        };
        let secret = match value("api-key-secret")? {
            Some(name) if name.is_empty() => {
                if !defaults.key_optional {
                    return Err(invalid(format!(
                        "config `api-key-secret` is empty, but {} needs an API key: name the secret that holds it",
                        defaults.provider
                    )));
                }
                None
            }
            Some(name) => Some(name),
            None => Some(defaults.secret.to_string()),
        };
        let stream = match set("stream")? {
            None => true,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => true,
                "false" | "no" | "off" | "0" => false,
                _ => {
                    return Err(invalid(format!(
                        "config `stream` = `{v}` must be true or false"
                    )));
                }
            },
        };
        Ok(Settings {
            provider: defaults.provider,
            base_url,
            model: set("model")?,
            secret,
            stream,
            context_window: number(&set, "context-window")?,
            max_output_tokens: number(&set, "max-output-tokens")?,
            embedding_model: set("embedding-model")?
                .or_else(|| defaults.embedding_model.map(str::to_string)),
            embedding_dimensions: number(&set, "embedding-dimensions")?,
        })
    }

    /// The model to ask: the request's, else the configured one.
    pub fn model(&self, requested: Option<&str>) -> Result<String, LlmError> {
        match requested.map(str::trim).filter(|m| !m.is_empty()) {
            Some(m) => Ok(m.to_string()),
            None => self.model.clone().ok_or_else(|| {
                invalid(format!(
                    "no model: set config `model` for the {} adapter (or name one in the request)",
                    self.provider
                ))
            }),
        }
    }

    /// Whether the API key is there to be injected, asked through `exists`
    /// (the `secrets` capability). The adapter never sees the value.
    pub fn check_secret(
        &self,
        exists: impl Fn(&str) -> Result<bool, LlmError>,
    ) -> Result<(), LlmError> {
        match &self.secret {
            None => Ok(()),
            Some(name) if exists(name)? => Ok(()),
            Some(name) => Err(LlmError::Auth(format!(
                "secret `{name}` is not set: run `ironclaw secrets set {name}`"
            ))),
        }
    }

    /// `base-url` joined with `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

fn invalid(message: String) -> LlmError {
    LlmError::InvalidRequest(message)
}

fn number(
    set: &impl Fn(&str) -> Result<Option<String>, LlmError>,
    key: &str,
) -> Result<Option<u32>, LlmError> {
    match set(key)? {
        None => Ok(None),
        Some(v) => match v.replace('_', "").parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(invalid(format!(
                "config `{key}` = `{v}` must be a whole number greater than 0"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI: Defaults = Defaults {
        provider: "openai",
        base_url: "https://api.openai.com/v1",
        secret: "openai_api_key",
        key_optional: true,
        embedding_model: Some("text-embedding-3-small"),
    };
    const ANTHROPIC: Defaults = Defaults {
        provider: "anthropic",
        base_url: "https://api.anthropic.com/v1",
        secret: "anthropic_api_key",
        key_optional: false,
        embedding_model: None,
    };

    fn read(defaults: &Defaults, pairs: &[(&str, &str)]) -> Result<Settings, LlmError> {
        Settings::read(defaults, |key| {
            Ok(pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string()))
        })
    }

    fn message(e: LlmError) -> String {
        format!(
            "{}: {}",
            crate::errors::kind(&e),
            crate::errors::message(&e)
        )
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = read(&OPENAI, &[]).unwrap();
        assert_eq!(s.base_url, "https://api.openai.com/v1");
        assert_eq!(s.secret.as_deref(), Some("openai_api_key"));
        assert!(s.stream);
        assert_eq!(s.model, None);
        assert_eq!(s.embedding_model.as_deref(), Some("text-embedding-3-small"));
        assert_eq!(read(&ANTHROPIC, &[]).unwrap().embedding_model, None);
        assert_eq!(
            s.url("/chat/completions"),
            "https://api.openai.com/v1/chat/completions"
        );
    }

    #[test]
    fn owner_values_win_and_are_trimmed() {
        let s = read(
            &OPENAI,
            &[
                ("base-url", " http://127.0.0.1:11434/v1/ "),
                ("model", "llama3.2"),
                ("api-key-secret", "ollama"),
                ("stream", "false"),
                ("context-window", "8_192"),
                ("max-output-tokens", "1024"),
                ("embedding-model", "nomic-embed-text"),
                ("embedding-dimensions", "768"),
            ],
        )
        .unwrap();
        assert_eq!(s.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(s.model.as_deref(), Some("llama3.2"));
        assert_eq!(s.secret.as_deref(), Some("ollama"));
        assert!(!s.stream);
        assert_eq!(
            (s.context_window, s.max_output_tokens),
            (Some(8192), Some(1024))
        );
        assert_eq!(s.embedding_dimensions, Some(768));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("base-url", "api.openai.com"),
            ("stream", "maybe"),
            ("context-window", "0"),
            ("max-output-tokens", "lots"),
        ] {
            let e = message(read(&OPENAI, &[(key, value)]).unwrap_err());
            assert!(
                e.starts_with("invalid-request") && e.contains(key),
                "{key}: {e}"
            );
        }
    }

    #[test]
    fn the_model_is_required_unless_the_request_names_one() {
        let s = read(&OPENAI, &[]).unwrap();
        let e = message(s.model(None).unwrap_err());
        assert!(
            e.starts_with("invalid-request") && e.contains("config `model`"),
            "{e}"
        );
        assert_eq!(s.model(Some("gpt-4o")).unwrap(), "gpt-4o");
        let s = read(&OPENAI, &[("model", "gpt-4o-mini")]).unwrap();
        assert_eq!(s.model(Some(" ")).unwrap(), "gpt-4o-mini");
        assert_eq!(s.model(Some("o3")).unwrap(), "o3");
    }

    #[test]
    fn missing_secrets_say_how_to_set_them() {
        let s = read(&ANTHROPIC, &[]).unwrap();
        let e = message(s.check_secret(|_| Ok(false)).unwrap_err());
        assert!(e.starts_with("auth"), "{e}");
        assert!(
            e.contains("secret `anthropic_api_key` is not set: run `ironclaw secrets set anthropic_api_key`"),
            "{e}"
        );
        assert!(
            s.check_secret(|name| Ok(name == "anthropic_api_key"))
                .is_ok()
        );
    }

    #[test]
    fn an_empty_secret_name_means_no_key_only_where_allowed() {
        let s = read(&OPENAI, &[("api-key-secret", "")]).unwrap();
        assert_eq!(s.secret, None);
        assert!(s.check_secret(|_| Ok(false)).is_ok());
        let e = message(read(&ANTHROPIC, &[("api-key-secret", "")]).unwrap_err());
        assert!(e.contains("api-key-secret"), "{e}");
    }
}
