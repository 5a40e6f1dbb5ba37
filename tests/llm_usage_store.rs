//! The LLM usage store behind token/cost accounting and the daily budget,
//! with the same tests on SQLite and PostgreSQL.

mod support;

use ironclaw::store::domains::{ModelUsage, UsageRecord, UsageTotals};
use support::backends::{Backend, migrated};

fn usage(at: i64, model: &str, input: u32, output: u32, cost: i64) -> UsageRecord {
    UsageRecord {
        at,
        provider: "openai".into(),
        model: model.into(),
        input_tokens: input,
        output_tokens: output,
        cost_micro_usd: cost,
        cached: false,
        priced: true,
    }
}

async fn an_empty_store_sums_to_zero(backend: Backend) {
    let t = migrated(backend).await;
    let store = t.db.llm_usage();
    assert_eq!(store.totals_since(0).await.unwrap(), UsageTotals::default());
    assert!(store.totals_by_model_since(0).await.unwrap().is_empty());
}

async fn totals_count_since_a_time_overall_and_per_model(backend: Backend) {
    let t = migrated(backend).await;
    let store = t.db.llm_usage();
    let first = store
        .record(&usage(1_000, "gpt-4o", 100, 10, 350))
        .await
        .unwrap();
    let second = store
        .record(&usage(2_000, "gpt-4o", 1_000, 100, 3_500))
        .await
        .unwrap();
    assert!(second > first, "ids increase");
    store
        .record(&usage(3_000, "claude-sonnet-4", 2_000, 500, 13_500))
        .await
        .unwrap();
    // A cached answer: counted as a call, its tokens not counted again.
    store
        .record(&UsageRecord {
            cached: true,
            cost_micro_usd: 0,
            ..usage(4_000, "gpt-4o", 1_000, 100, 0)
        })
        .await
        .unwrap();
    // A model without a price: recorded at cost 0 and flagged.
    store
        .record(&UsageRecord {
            priced: false,
            ..usage(5_000, "local-llama", 40_000, 2_000_000, 0)
        })
        .await
        .unwrap();

    let all = store.totals_since(0).await.unwrap();
    assert_eq!(
        all,
        UsageTotals {
            calls: 5,
            cached_calls: 1,
            unpriced_calls: 1,
            input_tokens: 100 + 1_000 + 2_000 + 40_000,
            output_tokens: 10 + 100 + 500 + 2_000_000,
            cost_micro_usd: 350 + 3_500 + 13_500,
        }
    );

    // `since` is inclusive.
    let later = store.totals_since(2_000).await.unwrap();
    assert_eq!(later.calls, 4);
    assert_eq!(later.cost_micro_usd, 3_500 + 13_500);
    assert_eq!(store.totals_since(5_001).await.unwrap().calls, 0);

    let by_model = store.totals_by_model_since(2_000).await.unwrap();
    assert_eq!(
        by_model,
        vec![
            ModelUsage {
                model: "claude-sonnet-4".into(),
                totals: UsageTotals {
                    calls: 1,
                    cached_calls: 0,
                    unpriced_calls: 0,
                    input_tokens: 2_000,
                    output_tokens: 500,
                    cost_micro_usd: 13_500,
                },
            },
            ModelUsage {
                model: "gpt-4o".into(),
                totals: UsageTotals {
                    calls: 2,
                    cached_calls: 1,
                    unpriced_calls: 0,
                    input_tokens: 1_000,
                    output_tokens: 100,
                    cost_micro_usd: 3_500,
                },
            },
            ModelUsage {
                model: "local-llama".into(),
                totals: UsageTotals {
                    calls: 1,
                    cached_calls: 0,
                    unpriced_calls: 1,
                    input_tokens: 40_000,
                    output_tokens: 2_000_000,
                    cost_micro_usd: 0,
                },
            },
        ]
    );
}

async fn large_token_counts_and_costs_sum_exactly(backend: Backend) {
    let t = migrated(backend).await;
    let store = t.db.llm_usage();
    // u32::MAX tokens twice overflows 32 bits; a cost beyond 2^31 µ$ too.
    for at in [1, 2] {
        store
            .record(&usage(at, "big", u32::MAX, u32::MAX, 3_000_000_000))
            .await
            .unwrap();
    }
    let all = store.totals_since(0).await.unwrap();
    assert_eq!(all.input_tokens, 2 * u64::from(u32::MAX));
    assert_eq!(all.output_tokens, 2 * u64::from(u32::MAX));
    assert_eq!(all.cost_micro_usd, 6_000_000_000);
}

on_both_backends!(
    an_empty_store_sums_to_zero,
    totals_count_since_a_time_overall_and_per_model,
    large_token_counts_and_costs_sum_exactly,
);
