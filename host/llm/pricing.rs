//! What a completion cost: a built-in table of list prices (USD per million
//! tokens) for common models, extended or overridden by the owner's
//! `[llm.resilience.pricing."model"]` entries, and the arithmetic in micro-dollars.
//!
//! Providers answer with dated or prefixed names (`gpt-4o-2024-08-06`,
//! `models/gemini-2.0-flash`), so a name without an exact entry takes the
//! price of the longest entry it extends at a `-` boundary, after dropping
//! anything up to a `/`. A model with no price costs 0 and is flagged in the
//! record; the first time each one is seen is logged.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use super::chain_config::Price;
use super::types::TokenUsage;

/// List prices, USD per million input / output tokens (standard tier,
/// short prompts). Prices change: the owner's config overrides any of them.
const BUILT_IN: &[(&str, f64, f64)] = &[
    // OpenAI
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-5", 1.25, 10.00),
    ("gpt-5-mini", 0.25, 2.00),
    ("gpt-5-nano", 0.05, 0.40),
    ("o3", 2.00, 8.00),
    ("o3-mini", 1.10, 4.40),
    ("o4-mini", 1.10, 4.40),
    // Anthropic
    ("claude-opus-4", 15.00, 75.00),
    ("claude-opus-4-5", 5.00, 25.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-haiku-4-5", 1.00, 5.00),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-3-haiku", 0.25, 1.25),
    // Google
    ("gemini-2.5-pro", 1.25, 10.00),
    ("gemini-2.5-flash", 0.30, 2.50),
    ("gemini-2.5-flash-lite", 0.10, 0.40),
    ("gemini-2.0-flash", 0.10, 0.40),
    ("gemini-2.0-flash-lite", 0.075, 0.30),
];

/// A completion's cost and whether the model had a price at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub micro_usd: i64,
    pub priced: bool,
}

#[derive(Debug)]
pub struct Pricing {
    table: BTreeMap<String, Price>,
    /// Unpriced models already logged, so each is logged once.
    warned: Mutex<HashSet<String>>,
}

impl Pricing {
    /// The built-in table with `overrides` added (an override of a built-in
    /// name replaces it).
    pub fn new(overrides: &BTreeMap<String, Price>) -> Pricing {
        let mut table: BTreeMap<String, Price> = BUILT_IN
            .iter()
            .map(|&(name, input, output)| (name.to_string(), Price { input, output }))
            .collect();
        table.extend(overrides.iter().map(|(k, v)| (k.clone(), *v)));
        Pricing {
            table,
            warned: Mutex::new(HashSet::new()),
        }
    }

    /// The price of `model`: exact name, else the longest entry it extends.
    pub fn price(&self, model: &str) -> Option<Price> {
        let name = model.rsplit('/').next().unwrap_or(model);
        if let Some(p) = self.table.get(name) {
            return Some(*p);
        }
        self.table
            .iter()
            .filter(|(key, _)| {
                name.strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
            })
            .max_by_key(|(key, _)| key.len())
            .map(|(_, p)| *p)
    }

    /// What `usage` of `model` cost; 0 (and `priced: false`) when the model
    /// has no price.
    pub fn cost(&self, model: &str, usage: TokenUsage) -> Cost {
        match self.price(model) {
            Some(price) => Cost {
                micro_usd: micro_usd(price, usage),
                priced: true,
            },
            None => {
                let mut warned = self
                    .warned
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if warned.insert(model.to_string()) {
                    tracing::warn!(
                        model,
                        "no price for this LLM model: its cost is recorded as 0 and does not count \
                         toward the daily budget; add [llm.resilience.pricing.\"{model}\"] to config.toml"
                    );
                }
                Cost {
                    micro_usd: 0,
                    priced: false,
                }
            }
        }
    }
}

/// USD per million tokens × tokens = micro-dollars, so no scaling is needed;
/// rounded to the nearest micro-dollar.
pub fn micro_usd(price: Price, usage: TokenUsage) -> i64 {
    let total =
        f64::from(usage.input_tokens) * price.input + f64::from(usage.output_tokens) * price.output;
    // `as` saturates; prices are validated non-negative and finite.
    total.round() as i64
}

/// Micro-dollars as `$1.234567` for messages: whole cents unless smaller.
pub fn format_usd(micro_usd: i64) -> String {
    let dollars = micro_usd as f64 / 1e6;
    if micro_usd % 10_000 == 0 {
        format!("${dollars:.2}")
    } else {
        format!("${dollars:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u32, output: u32) -> TokenUsage {
        TokenUsage {
            input_tokens: input,
            output_tokens: output,
        }
    }

    #[test]
    fn cost_is_tokens_times_price_per_million_in_micro_dollars() {
        let p = Pricing::new(&BTreeMap::new());
        // 1000 × $2.50/M + 500 × $10/M = $0.0025 + $0.005 = 7500 µ$.
        assert_eq!(
            p.cost("gpt-4o", usage(1_000, 500)),
            Cost {
                micro_usd: 7_500,
                priced: true
            }
        );
        // A million of each at $0.15 / $0.60: exactly $0.75.
        assert_eq!(
            p.cost("gpt-4o-mini", usage(1_000_000, 1_000_000)).micro_usd,
            750_000
        );
        // Fractions of a micro-dollar round: 3 × 0.075 = 0.225 → 0, 7 × 0.075 → 1.
        assert_eq!(
            micro_usd(
                Price {
                    input: 0.075,
                    output: 0.0
                },
                usage(3, 0)
            ),
            0
        );
        assert_eq!(
            micro_usd(
                Price {
                    input: 0.075,
                    output: 0.0
                },
                usage(7, 0)
            ),
            1
        );
        assert_eq!(
            micro_usd(
                Price {
                    input: 15.0,
                    output: 75.0
                },
                usage(u32::MAX, u32::MAX)
            ),
            (f64::from(u32::MAX) * 90.0).round() as i64
        );
    }

    #[test]
    fn dated_and_prefixed_names_take_the_longest_matching_entry() {
        let p = Pricing::new(&BTreeMap::new());
        let input = |m: &str| p.price(m).map(|x| x.input);
        assert_eq!(input("gpt-4o-2024-08-06"), Some(2.50));
        assert_eq!(input("gpt-4o-mini-2024-07-18"), Some(0.15));
        assert_eq!(input("gpt-4.1-mini-2025-04-14"), Some(0.40));
        assert_eq!(input("claude-sonnet-4-20250514"), Some(3.00));
        assert_eq!(input("claude-3-5-haiku-20241022"), Some(0.80));
        assert_eq!(input("models/gemini-2.0-flash"), Some(0.10));
        assert_eq!(input("openai/gpt-4o"), Some(2.50));
        // A prefix must end at a `-`: `gpt-4o` does not price `gpt-4omega`,
        // and `o3` does not price `o3x`.
        assert_eq!(input("gpt-4omega"), None);
        assert_eq!(input("o3x"), None);
        assert_eq!(input("llama-3.1-8b"), None);
    }

    #[test]
    fn config_overrides_and_extends_and_unknown_models_cost_nothing() {
        let overrides: BTreeMap<String, Price> = [
            (
                "gpt-4o".to_string(),
                Price {
                    input: 1.0,
                    output: 2.0,
                },
            ),
            (
                "llama-3.1-8b".to_string(),
                Price {
                    input: 0.05,
                    output: 0.08,
                },
            ),
        ]
        .into();
        let p = Pricing::new(&overrides);
        assert_eq!(p.cost("gpt-4o", usage(1_000_000, 0)).micro_usd, 1_000_000);
        // Overriding `gpt-4o` leaves `gpt-4o-mini` at its own price.
        assert_eq!(p.price("gpt-4o-mini").map(|x| x.input), Some(0.15));
        assert_eq!(
            p.cost("llama-3.1-8b", usage(1_000_000, 1_000_000))
                .micro_usd,
            130_000
        );
        let unknown = p.cost("mystery", usage(5_000, 5_000));
        assert_eq!(
            unknown,
            Cost {
                micro_usd: 0,
                priced: false
            }
        );
        // Logged once per model.
        p.cost("mystery", usage(1, 1));
        assert_eq!(p.warned.lock().unwrap().len(), 1);
    }

    #[test]
    fn dollars_format_for_messages() {
        assert_eq!(format_usd(5_000_000), "$5.00");
        assert_eq!(format_usd(1_230_000), "$1.23");
        assert_eq!(format_usd(1_234_567), "$1.234567");
        assert_eq!(format_usd(0), "$0.00");
    }
}
