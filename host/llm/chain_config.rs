//! The owner's settings for the chain's resilience, response cache, pricing
//! and daily budget: `[llm.resilience]` in `config.toml` (embedded by
//! `llm::config::LlmConfig`), which `chain` reads. Defaults follow the issue: 3 attempts from 1 s doubling,
//! a breaker that opens after 5 transient failures for 30 s with 2
//! half-open probes, a 1 h / 1000-entry cache, no budget.
//!
//! ```toml
//! [llm.resilience]
//! daily-budget-usd = 5.0
//! [llm.resilience.cache]
//! ttl-secs = 600
//! [llm.resilience.pricing."my-finetune"]
//! input = 3.0    # USD per 1M input tokens
//! output = 12.0  # USD per 1M output tokens
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("llm configuration: {0}")]
pub struct ChainConfigError(pub String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ResilienceConfig {
    /// Attempts per provider for transient failures, the first included.
    #[serde(default = "default_retry_attempts")]
    pub retry_attempts: u32,
    /// The first backoff; each further one doubles (± 25 % jitter).
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    /// The longest `Retry-After` waited for; a provider asking for longer is
    /// failed over instead.
    #[serde(default = "default_retry_after_max_secs")]
    pub retry_after_max_secs: u64,
    /// Consecutive transient failures that open a provider's breaker.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before probing.
    #[serde(default = "default_breaker_open_secs")]
    pub breaker_open_secs: u64,
    /// Calls let through at once while half-open.
    #[serde(default = "default_half_open_probes")]
    pub half_open_probes: u32,
    #[serde(default)]
    pub cache: CacheConfig,
    /// Stop sending once today's (UTC) spend reaches this; none = unlimited.
    #[serde(default)]
    pub daily_budget_usd: Option<f64>,
    /// Prices by model name, added to or replacing the built-in table.
    #[serde(default)]
    pub pricing: BTreeMap<String, Price>,
}

/// The response cache for requests without tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CacheConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_cache_ttl_secs")]
    pub ttl_secs: u64,
    #[serde(default = "default_cache_entries")]
    pub entries: usize,
}

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

fn default_retry_attempts() -> u32 {
    3
}
fn default_retry_base_ms() -> u64 {
    1_000
}
fn default_retry_after_max_secs() -> u64 {
    60
}
fn default_breaker_failures() -> u32 {
    5
}
fn default_breaker_open_secs() -> u64 {
    30
}
fn default_half_open_probes() -> u32 {
    2
}
fn default_true() -> bool {
    true
}
fn default_cache_ttl_secs() -> u64 {
    3_600
}
fn default_cache_entries() -> usize {
    1_000
}

impl Default for ResilienceConfig {
    fn default() -> Self {
        ResilienceConfig {
            retry_attempts: default_retry_attempts(),
            retry_base_ms: default_retry_base_ms(),
            retry_after_max_secs: default_retry_after_max_secs(),
            breaker_failures: default_breaker_failures(),
            breaker_open_secs: default_breaker_open_secs(),
            half_open_probes: default_half_open_probes(),
            cache: CacheConfig::default(),
            daily_budget_usd: None,
            pricing: BTreeMap::new(),
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            ttl_secs: default_cache_ttl_secs(),
            entries: default_cache_entries(),
        }
    }
}

impl ResilienceConfig {
    /// Refuses values that would disable a safeguard by accident: zero
    /// attempts (never calls), a breaker that opens on nothing, a negative
    /// or non-finite price or budget.
    pub fn validate(&self) -> Result<(), ChainConfigError> {
        let err = |m: String| Err(ChainConfigError(m));
        if self.retry_attempts == 0 {
            return err("retry-attempts must be at least 1".into());
        }
        if self.breaker_failures == 0 {
            return err("breaker-failures must be at least 1".into());
        }
        if self.half_open_probes == 0 {
            return err("half-open-probes must be at least 1".into());
        }
        if self.cache.enabled && (self.cache.entries == 0 || self.cache.ttl_secs == 0) {
            return err(
                "cache entries and ttl-secs must be at least 1 (or set cache.enabled = false)"
                    .into(),
            );
        }
        if let Some(budget) = self.daily_budget_usd
            && !(budget.is_finite() && budget >= 0.0)
        {
            return err(format!(
                "daily-budget-usd must be a non-negative number (got {budget})"
            ));
        }
        for (model, price) in &self.pricing {
            if !(price.input.is_finite()
                && price.input >= 0.0
                && price.output.is_finite()
                && price.output >= 0.0)
            {
                return err(format!(
                    "pricing.\"{model}\": prices must be non-negative numbers"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_is_the_issue_defaults() {
        let c: ResilienceConfig = toml::from_str("").unwrap();
        assert_eq!(c, ResilienceConfig::default());
        assert_eq!(c.retry_attempts, 3);
        assert_eq!(c.retry_base_ms, 1_000);
        assert_eq!(c.breaker_failures, 5);
        assert_eq!(c.breaker_open_secs, 30);
        assert_eq!(c.half_open_probes, 2);
        assert_eq!(c.cache, CacheConfig::default());
        assert_eq!((c.cache.ttl_secs, c.cache.entries), (3_600, 1_000));
        assert_eq!(c.daily_budget_usd, None);
        c.validate().unwrap();
    }

    #[test]
    fn kebab_case_keys_pricing_tables_and_typos_refused() {
        let c: ResilienceConfig = toml::from_str(
            r#"
            daily-budget-usd = 2.5
            retry-attempts = 4
            [cache]
            enabled = false
            [pricing."my-model"]
            input = 2.5
            output = 10.0
            "#,
        )
        .unwrap();
        assert_eq!(c.daily_budget_usd, Some(2.5));
        assert_eq!(c.retry_attempts, 4);
        assert!(!c.cache.enabled);
        assert_eq!(
            c.pricing["my-model"],
            Price {
                input: 2.5,
                output: 10.0
            }
        );
        let e = toml::from_str::<ResilienceConfig>("retry_attempts = 2").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn validation_refuses_disabled_safeguards() {
        let bad = [
            ResilienceConfig {
                retry_attempts: 0,
                ..Default::default()
            },
            ResilienceConfig {
                daily_budget_usd: Some(-1.0),
                ..Default::default()
            },
            ResilienceConfig {
                pricing: [(
                    "m".to_string(),
                    Price {
                        input: f64::NAN,
                        output: 1.0,
                    },
                )]
                .into(),
                ..Default::default()
            },
            ResilienceConfig {
                cache: CacheConfig {
                    entries: 0,
                    ..Default::default()
                },
                ..Default::default()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
