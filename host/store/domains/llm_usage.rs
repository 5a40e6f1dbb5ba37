//! LLM usage accounting: one append-only row per completion the chain
//! returned (host/llm/budget.rs writes them), summed for `ironclaw status`
//! and for the daily budget. Costs are integer micro-dollars so sums are
//! exact on both backends.

use serde::Serialize;

use super::SqlStore;
use crate::sql_params;
use crate::store::StoreError;
use crate::store::sql::Row;

/// One completion's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRecord {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// The provider that answered (`Provider::name`).
    pub provider: String,
    /// The model that answered.
    pub model: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// Millionths of a US dollar; 0 for cached answers and unpriced models.
    pub cost_micro_usd: i64,
    /// Served from the response cache: nothing was sent or spent.
    pub cached: bool,
    /// The model had a price; when false the cost is an unknown recorded as 0.
    pub priced: bool,
}

/// Sums over a set of usage rows. Token sums count only answers a provider
/// produced for this call (cached answers were paid for once, when first
/// produced, and are counted in `cached_calls`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UsageTotals {
    /// Every recorded completion, cached ones included.
    pub calls: u64,
    pub cached_calls: u64,
    /// Completions of models without a price (their cost counts as 0).
    pub unpriced_calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_micro_usd: i64,
}

/// The totals of one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelUsage {
    pub model: String,
    #[serde(flatten)]
    pub totals: UsageTotals,
}

#[async_trait::async_trait]
pub trait LlmUsageStore: Send + Sync {
    /// Appends one record; returns its id.
    async fn record(&self, record: &UsageRecord) -> Result<i64, StoreError>;
    /// Totals of every record at or after `since_ms`.
    async fn totals_since(&self, since_ms: i64) -> Result<UsageTotals, StoreError>;
    /// Totals per model of the records at or after `since_ms`, by model name.
    async fn totals_by_model_since(&self, since_ms: i64) -> Result<Vec<ModelUsage>, StoreError>;
}

/// The aggregate columns both queries select, in the order [`totals`] reads.
/// Every sum is cast: PostgreSQL's SUM of BIGINT is NUMERIC.
macro_rules! totals_columns {
    () => {
        "CAST(COUNT(*) AS BIGINT),
         CAST(COALESCE(SUM(CASE WHEN cached THEN 1 ELSE 0 END), 0) AS BIGINT),
         CAST(COALESCE(SUM(CASE WHEN priced THEN 0 ELSE 1 END), 0) AS BIGINT),
         CAST(COALESCE(SUM(CASE WHEN cached THEN 0 ELSE input_tokens END), 0) AS BIGINT),
         CAST(COALESCE(SUM(CASE WHEN cached THEN 0 ELSE output_tokens END), 0) AS BIGINT),
         CAST(COALESCE(SUM(cost_micro_usd), 0) AS BIGINT)"
    };
}

fn count(r: &Row, i: usize) -> Result<u64, StoreError> {
    Ok(u64::try_from(r.int(i)?).unwrap_or(0))
}

/// Reads the six [`totals_columns`] starting at column `first`.
fn totals(r: &Row, first: usize) -> Result<UsageTotals, StoreError> {
    Ok(UsageTotals {
        calls: count(r, first)?,
        cached_calls: count(r, first + 1)?,
        unpriced_calls: count(r, first + 2)?,
        input_tokens: count(r, first + 3)?,
        output_tokens: count(r, first + 4)?,
        cost_micro_usd: r.int(first + 5)?,
    })
}

#[async_trait::async_trait]
impl LlmUsageStore for SqlStore {
    async fn record(&self, r: &UsageRecord) -> Result<i64, StoreError> {
        let row = self
            .sql
            .query_opt(
                "INSERT INTO llm_usage
                 (at, provider, model, input_tokens, output_tokens, cost_micro_usd, cached, priced)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                sql_params![
                    r.at,
                    r.provider.as_str(),
                    r.model.as_str(),
                    i64::from(r.input_tokens),
                    i64::from(r.output_tokens),
                    r.cost_micro_usd,
                    r.cached,
                    r.priced
                ],
            )
            .await?
            .ok_or_else(|| StoreError::Database("llm_usage insert returned no id".into()))?;
        row.int(0)
    }

    async fn totals_since(&self, since_ms: i64) -> Result<UsageTotals, StoreError> {
        let row = self
            .sql
            .query_opt(
                concat!(
                    "SELECT ",
                    totals_columns!(),
                    " FROM llm_usage WHERE at >= $1"
                ),
                sql_params![since_ms],
            )
            .await?;
        row.map_or(Ok(UsageTotals::default()), |r| totals(&r, 0))
    }

    async fn totals_by_model_since(&self, since_ms: i64) -> Result<Vec<ModelUsage>, StoreError> {
        self.sql
            .query(
                concat!(
                    "SELECT model, ",
                    totals_columns!(),
                    " FROM llm_usage WHERE at >= $1 GROUP BY model ORDER BY model"
                ),
                sql_params![since_ms],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(ModelUsage {
                    model: r.text(0)?,
                    totals: totals(r, 1)?,
                })
            })
            .collect()
    }
}
