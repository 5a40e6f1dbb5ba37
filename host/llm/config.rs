//! `[llm]` in config.toml: which adapter answers (and which ones take over
//! when it fails), with environment overrides for quick setups.
//!
//! ```toml
//! [llm]
//! backend = "openai"                  # an installed llm-adapter component
//! model = "gpt-4o-mini"
//! base-url = "https://openrouter.ai/api/v1"   # optional: the adapter's default otherwise
//! api-key-secret = "openrouter_key"           # optional: openai_api_key etc. otherwise
//! settings = { stream = "true" }              # passed to the adapter's `config`
//!
//! [[llm.fallback]]
//! backend = "anthropic"
//! model = "claude-sonnet-4-5"
//!
//! [llm.resilience]
//! daily-budget-usd = 5.0
//! ```
//!
//! Environment: `LLM_BACKEND`, `LLM_MODEL`, `LLM_BASE_URL` override the
//! primary; `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY` are moved
//! into the vault under the backend's default secret name, and with only
//! one of them set and no backend named, that backend is chosen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::adapter_grant::AdapterSettings;
use super::chain_config::ResilienceConfig;

/// Backends with a bundled adapter: (name, key variable, default secret).
pub const KNOWN_BACKENDS: &[(&str, &str, &str)] = &[
    ("openai", "OPENAI_API_KEY", "openai_api_key"),
    ("anthropic", "ANTHROPIC_API_KEY", "anthropic_api_key"),
    ("gemini", "GEMINI_API_KEY", "gemini_api_key"),
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LlmConfig {
    /// The primary adapter component; `None` with no key in the
    /// environment means no LLM.
    pub backend: Option<String>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub api_key_secret: Option<String>,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Providers tried in order when the ones before them fail.
    #[serde(default)]
    pub fallback: Vec<ProviderConfig>,
    #[serde(default)]
    pub resilience: ResilienceConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProviderConfig {
    pub backend: String,
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub api_key_secret: Option<String>,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

impl ProviderConfig {
    fn settings(&self) -> AdapterSettings {
        AdapterSettings {
            adapter: self.backend.clone(),
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            api_key_secret: self.api_key_secret.clone(),
            extra: self.settings.clone(),
        }
    }
}

/// An API key found in the environment, to be stored in the vault.
#[derive(Clone)]
pub struct EnvKey {
    pub variable: &'static str,
    pub secret_name: &'static str,
    pub value: crate::secrets::SecretValue,
}

impl LlmConfig {
    /// The configuration with `LLM_*` overrides from `env` applied, and the
    /// keys the environment carries.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> (LlmConfig, Vec<EnvKey>) {
        let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let keys: Vec<EnvKey> = KNOWN_BACKENDS
            .iter()
            .filter_map(|(_, variable, secret_name)| {
                non_empty(variable).map(|v| EnvKey {
                    variable,
                    secret_name,
                    value: crate::secrets::SecretValue::new(v.trim().to_string()),
                })
            })
            .collect();
        if let Some(backend) = non_empty("LLM_BACKEND") {
            self.backend = Some(backend.trim().to_string());
        }
        if let Some(model) = non_empty("LLM_MODEL") {
            self.model = Some(model.trim().to_string());
        }
        if let Some(url) = non_empty("LLM_BASE_URL") {
            self.base_url = Some(url.trim().to_string());
        }
        if self.backend.is_none()
            && let [only] = keys.as_slice()
            && let Some((backend, _, _)) = KNOWN_BACKENDS
                .iter()
                .find(|(_, variable, _)| *variable == only.variable)
        {
            self.backend = Some((*backend).to_string());
        }
        (self, keys)
    }

    /// The providers in order, primary first; empty when no backend is set.
    pub fn providers(&self) -> Vec<AdapterSettings> {
        let Some(backend) = &self.backend else {
            return Vec::new();
        };
        let primary = ProviderConfig {
            backend: backend.clone(),
            model: self.model.clone(),
            base_url: self.base_url.clone(),
            api_key_secret: self.api_key_secret.clone(),
            settings: self.settings.clone(),
        };
        std::iter::once(&primary)
            .chain(self.fallback.iter())
            .map(ProviderConfig::settings)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn one_key_in_the_environment_chooses_its_backend() {
        let (c, keys) = LlmConfig::default().with_env(env(&[("ANTHROPIC_API_KEY", "sk-ant-x")]));
        assert_eq!(c.backend.as_deref(), Some("anthropic"));
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].secret_name, "anthropic_api_key");
        assert_eq!(keys[0].value.expose(), "sk-ant-x");
    }

    #[test]
    fn two_keys_choose_nothing_and_llm_backend_wins() {
        let both = [("OPENAI_API_KEY", "a"), ("GEMINI_API_KEY", "b")];
        let (c, keys) = LlmConfig::default().with_env(env(&both));
        assert_eq!(c.backend, None);
        assert_eq!(keys.len(), 2);
        let (c, _) = LlmConfig::default().with_env(env(&[
            ("OPENAI_API_KEY", "a"),
            ("LLM_BACKEND", "gemini"),
            ("LLM_MODEL", "gemini-2.5-flash"),
            ("LLM_BASE_URL", "http://127.0.0.1:1/v1beta"),
        ]));
        assert_eq!(c.backend.as_deref(), Some("gemini"));
        assert_eq!(c.model.as_deref(), Some("gemini-2.5-flash"));
        assert_eq!(c.base_url.as_deref(), Some("http://127.0.0.1:1/v1beta"));
    }

    #[test]
    fn providers_list_the_primary_then_the_fallbacks() {
        let c: LlmConfig = toml::from_str(
            "backend = \"openai\"\nmodel = \"m1\"\n[[fallback]]\nbackend = \"anthropic\"\nmodel = \"m2\"\n",
        )
        .unwrap();
        let p = c.providers();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].adapter.as_str(), p[1].adapter.as_str()),
            ("openai", "anthropic")
        );
        assert!(toml::from_str::<LlmConfig>("backnd = \"x\"").is_err());
    }
}
