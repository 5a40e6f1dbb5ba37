//! Token and cost accounting, and the owner's daily budget.
//!
//! Every completion the chain returns is recorded through [`LlmUsageStore`]
//! (provider, model, tokens, cost, time, whether the cache served it). The
//! budget is checked before anything is sent: once today's spend (since
//! 00:00 UTC) reaches `daily-budget-usd`, calls fail with
//! `LlmError::BudgetExhausted` until the next UTC day.
//!
//! Today's spend is read from the store once per day and process, so it
//! survives restarts, then kept in memory and increased by each record, so
//! the check costs no query. Spending by another process sharing the
//! database (the CLI while `ironclaw run` serves) is therefore seen at the
//! next day's first read, not at once; a completion in flight when the limit
//! is reached still finishes, so the limit can be overshot by the calls
//! already under way.
//!
//! When the store cannot be read the check fails closed (the budget is a
//! limit the owner set; an unreadable figure is not permission to spend).
//! When a record cannot be written the completion is still returned (it is
//! paid for already) and the failure logged; the in-memory figure still
//! counts it.

use std::sync::{Arc, Mutex, PoisonError};

use super::chain_config::ResilienceConfig;
use super::clock::{Clock, SystemClock};
use super::pricing::{Pricing, format_usd};
use super::types::{Completion, LlmError};
use crate::store::domains::{LlmUsageStore, UsageRecord};

const DAY_MS: i64 = 86_400_000;

/// Today's spend as far as this process knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DaySpend {
    /// Days since the epoch (UTC).
    day: i64,
    micro_usd: i64,
}

/// The budget as `ironclaw status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BudgetStatus {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub spent_micro_usd: i64,
    pub limit_micro_usd: Option<i64>,
}

pub struct Accounting {
    store: Arc<dyn LlmUsageStore>,
    pricing: Pricing,
    limit_micro_usd: Option<i64>,
    clock: Arc<dyn Clock>,
    today: Mutex<Option<DaySpend>>,
}

/// Dollars to whole micro-dollars (the budget and prices are validated
/// non-negative and finite; `as` saturates anyway).
fn to_micro(usd: f64) -> i64 {
    (usd * 1e6).round() as i64
}

impl Accounting {
    /// `daily_budget_usd` of `None` is unlimited.
    pub fn new(
        store: Arc<dyn LlmUsageStore>,
        pricing: Pricing,
        daily_budget_usd: Option<f64>,
    ) -> Accounting {
        Accounting {
            store,
            pricing,
            limit_micro_usd: daily_budget_usd.map(to_micro),
            clock: Arc::new(SystemClock),
            today: Mutex::new(None),
        }
    }

    /// Pricing and budget from the `[llm]` config.
    pub fn from_config(store: Arc<dyn LlmUsageStore>, config: &ResilienceConfig) -> Accounting {
        Accounting::new(
            store,
            Pricing::new(&config.pricing),
            config.daily_budget_usd,
        )
    }

    /// Reads time (and so the UTC day) from `clock`; for tests.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Accounting {
        self.clock = clock;
        self
    }

    pub fn pricing(&self) -> &Pricing {
        &self.pricing
    }

    fn cached_today(&self, day: i64) -> Option<i64> {
        let today = self.today.lock().unwrap_or_else(PoisonError::into_inner);
        today.filter(|t| t.day == day).map(|t| t.micro_usd)
    }

    /// Today's spend in micro-dollars: from memory, or from the store at the
    /// first call of a day.
    pub async fn spent_today(&self) -> Result<i64, LlmError> {
        let day = self.clock.unix_ms().div_euclid(DAY_MS);
        if let Some(spent) = self.cached_today(day) {
            return Ok(spent);
        }
        let totals = self
            .store
            .totals_since(day * DAY_MS)
            .await
            .map_err(|e| LlmError::Failed(format!("cannot read today's LLM spending: {e}")))?;
        let mut today = self.today.lock().unwrap_or_else(PoisonError::into_inner);
        match *today {
            // A record landed while the query ran: it is in the store and
            // may or may not be in `totals`; the larger figure is the safe one.
            Some(t) if t.day == day => {
                let spent = t.micro_usd.max(totals.cost_micro_usd);
                *today = Some(DaySpend {
                    day,
                    micro_usd: spent,
                });
                Ok(spent)
            }
            _ => {
                *today = Some(DaySpend {
                    day,
                    micro_usd: totals.cost_micro_usd,
                });
                Ok(totals.cost_micro_usd)
            }
        }
    }

    /// `Err(BudgetExhausted)` when today's spend has reached the budget;
    /// with no budget, `Ok` without reading anything.
    pub async fn check(&self) -> Result<(), LlmError> {
        let Some(limit) = self.limit_micro_usd else {
            return Ok(());
        };
        let spent = self.spent_today().await?;
        if spent >= limit {
            return Err(LlmError::BudgetExhausted(format!(
                "{} spent today (UTC) of the {} daily budget; raise [llm.resilience] \
                 daily-budget-usd in config.toml or wait for 00:00 UTC",
                format_usd(spent),
                format_usd(limit)
            )));
        }
        Ok(())
    }

    /// Records `completion` as answered by `provider`. A cached answer is
    /// recorded with its tokens and no cost (nothing was sent).
    pub async fn record(&self, provider: &str, completion: &Completion, cached: bool) {
        let model = if completion.model.is_empty() {
            "unknown"
        } else {
            completion.model.as_str()
        };
        let cost = self.pricing.cost(model, completion.usage);
        let (micro_usd, priced) = if cached {
            (0, cost.priced)
        } else {
            (cost.micro_usd, cost.priced)
        };
        let at = self.clock.unix_ms();
        let day = at.div_euclid(DAY_MS);
        {
            let mut today = self.today.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(t) = today.as_mut()
                && t.day == day
            {
                t.micro_usd = t.micro_usd.saturating_add(micro_usd);
            }
        }
        let record = UsageRecord {
            at,
            provider: provider.to_string(),
            model: model.to_string(),
            input_tokens: completion.usage.input_tokens,
            output_tokens: completion.usage.output_tokens,
            cost_micro_usd: micro_usd,
            cached,
            priced,
        };
        if let Err(e) = self.store.record(&record).await {
            tracing::warn!(
                provider,
                model,
                cost_micro_usd = micro_usd,
                "could not record LLM usage: {e}"
            );
        }
    }

    pub async fn status(&self) -> Result<BudgetStatus, LlmError> {
        let spent = self.spent_today().await?;
        let (day, _) = crate::civil::utc_date_and_seconds(self.clock.unix_ms());
        Ok(BudgetStatus {
            day,
            spent_micro_usd: spent,
            limit_micro_usd: self.limit_micro_usd,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::clock::ManualClock;
    use crate::llm::types::{FinishReason, TokenUsage};
    use crate::store::{Database, DatabaseUrl};
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// 2025-03-01 23:00 UTC.
    const LATE: i64 = 1_740_870_000_000;

    async fn sqlite() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Database::open_migrated(&DatabaseUrl::parse(&url).unwrap())
            .await
            .unwrap();
        (dir, db)
    }

    fn gpt4o(input: u32, output: u32) -> Completion {
        Completion {
            content: "ok".into(),
            tool_calls: vec![],
            finish_reason: FinishReason::Stop,
            usage: TokenUsage {
                input_tokens: input,
                output_tokens: output,
            },
            model: "gpt-4o-2024-08-06".into(),
        }
    }

    #[tokio::test]
    async fn spending_to_the_budget_refuses_until_the_next_utc_day() {
        let (_dir, db) = sqlite().await;
        let clock = Arc::new(ManualClock::new(LATE));
        let acc = Accounting::new(db.llm_usage(), Pricing::new(&BTreeMap::new()), Some(0.01))
            .with_clock(clock.clone());
        acc.check().await.unwrap();
        // 1000 in × $2.5/M + 500 out × $10/M = $0.0075.
        acc.record("openai", &gpt4o(1_000, 500), false).await;
        acc.check().await.unwrap();
        acc.record("openai", &gpt4o(1_000, 500), false).await;
        let e = acc.check().await.unwrap_err();
        assert!(matches!(e, LlmError::BudgetExhausted(_)), "{e}");
        let text = e.to_string();
        assert!(text.contains("$0.015000 spent today"), "{text}");
        assert!(text.contains("the $0.01 daily budget"), "{text}");
        let status = acc.status().await.unwrap();
        assert_eq!(status.day, "2025-03-01");
        assert_eq!(status.spent_micro_usd, 15_000);
        // A new UTC day starts from zero.
        clock.advance(Duration::from_secs(3_600));
        acc.check().await.unwrap();
        assert_eq!(acc.status().await.unwrap().day, "2025-03-02");
        assert_eq!(acc.spent_today().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn todays_spend_survives_a_restart_and_cached_answers_cost_nothing() {
        let (_dir, db) = sqlite().await;
        let clock = Arc::new(ManualClock::new(LATE));
        let pricing = || Pricing::new(&BTreeMap::new());
        let first = Accounting::new(db.llm_usage(), pricing(), Some(1.0)).with_clock(clock.clone());
        first.record("openai", &gpt4o(100_000, 50_000), false).await;
        first.record("chain", &gpt4o(100_000, 50_000), true).await;
        // A new process (same database) knows what was spent today.
        let second = Accounting::new(db.llm_usage(), pricing(), Some(0.75)).with_clock(clock);
        assert_eq!(second.spent_today().await.unwrap(), 750_000);
        assert!(matches!(
            second.check().await,
            Err(LlmError::BudgetExhausted(_))
        ));
        let totals = db.llm_usage().totals_since(0).await.unwrap();
        assert_eq!((totals.calls, totals.cached_calls), (2, 1));
        assert_eq!(totals.input_tokens, 100_000);
    }

    #[tokio::test]
    async fn unpriced_models_are_recorded_and_flagged_and_no_budget_never_reads() {
        let (_dir, db) = sqlite().await;
        let acc = Accounting::new(db.llm_usage(), Pricing::new(&BTreeMap::new()), None);
        acc.check().await.unwrap();
        let local = Completion {
            model: "local-llama".into(),
            ..gpt4o(10, 10)
        };
        acc.record("ollama", &local, false).await;
        let totals = db.llm_usage().totals_since(0).await.unwrap();
        assert_eq!((totals.calls, totals.unpriced_calls), (1, 1));
        assert_eq!(totals.cost_micro_usd, 0);
        acc.check().await.unwrap();
    }
}
