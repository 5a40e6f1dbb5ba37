//! The chain's logic against small scripted providers, on a hand-driven
//! clock: every pause is recorded instead of waited.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use super::*;
use crate::llm::clock::{FixedJitter, ManualClock};
use crate::llm::pricing::Pricing;
use crate::llm::types::{FinishReason, Message, TokenUsage, ToolDefinition};
use crate::store::{Database, DatabaseUrl};

/// One scripted answer: chunks to stream first, then the outcome.
struct Step {
    chunks: Vec<&'static str>,
    outcome: Result<&'static str, LlmError>,
}

fn ok(text: &'static str) -> Step {
    Step {
        chunks: vec![],
        outcome: Ok(text),
    }
}

fn err(e: LlmError) -> Step {
    Step {
        chunks: vec![],
        outcome: Err(e),
    }
}

fn transient() -> Step {
    err(LlmError::Transient("502 bad gateway".into()))
}

/// Answers from its script in order, then "default" forever.
struct Scripted {
    name: String,
    script: Mutex<VecDeque<Step>>,
    calls: AtomicU32,
}

impl Scripted {
    fn new(name: &str, script: Vec<Step>) -> Arc<Scripted> {
        Arc::new(Scripted {
            name: name.into(),
            script: Mutex::new(script.into()),
            calls: AtomicU32::new(0),
        })
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Provider for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    async fn complete(
        &self,
        _request: &CompletionRequest,
        stream: Option<StreamSink>,
    ) -> Result<Completion, LlmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let step = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(ok("default"));
        for chunk in step.chunks {
            if let Some(sink) = &stream {
                sink(chunk);
            }
        }
        let text = step.outcome?;
        if let Some(sink) = &stream {
            sink(text);
        }
        Ok(Completion {
            content: text.into(),
            tool_calls: vec![],
            finish_reason: FinishReason::Stop,
            usage: TokenUsage {
                input_tokens: 1_000,
                output_tokens: 500,
            },
            model: "gpt-4o".into(),
        })
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let step = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(ok("default"));
        step.outcome?;
        Ok(texts.iter().map(|_| vec![1.0]).collect())
    }

    async fn describe(&self) -> Result<ModelInfo, LlmError> {
        Err(LlmError::NotAvailable(format!(
            "{} cannot describe",
            self.name
        )))
    }
}

fn no_cache() -> ResilienceConfig {
    ResilienceConfig {
        cache: crate::llm::chain_config::CacheConfig {
            enabled: false,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn chain_of(providers: &[&Arc<Scripted>], config: &ResilienceConfig) -> (Arc<ManualClock>, Chain) {
    let clock = Arc::new(ManualClock::new(1_740_870_000_000));
    let providers = providers
        .iter()
        .map(|p| (*p).clone() as Arc<dyn Provider>)
        .collect();
    let chain = Chain::builder(providers, config)
        .clock(clock.clone())
        .jitter(Arc::new(FixedJitter(0.0)))
        .build()
        .unwrap();
    (clock, chain)
}

fn ask(text: &str) -> CompletionRequest {
    CompletionRequest {
        messages: vec![Message::user(text)],
        ..Default::default()
    }
}

fn secs(s: &[u64]) -> Vec<Duration> {
    s.iter().map(|s| Duration::from_secs(*s)).collect()
}

/// A sink that keeps what it receives.
fn recording_sink() -> (StreamSink, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    let sink: StreamSink = Arc::new(move |chunk: &str| kept.lock().unwrap().push(chunk.into()));
    (sink, seen)
}

#[tokio::test]
async fn transient_failures_are_retried_after_one_then_two_seconds() {
    let a = Scripted::new("a", vec![transient(), transient(), ok("third time")]);
    let (clock, chain) = chain_of(&[&a], &no_cache());
    let answer = chain.complete(&ask("hi"), None).await.unwrap();
    assert_eq!(answer.content, "third time");
    assert_eq!(a.calls(), 3);
    assert_eq!(clock.sleeps(), secs(&[1, 2]));
}

#[tokio::test]
async fn jitter_scales_each_pause_by_at_most_a_quarter() {
    let a = Scripted::new("a", vec![transient(), transient()]);
    let clock = Arc::new(ManualClock::new(0));
    let chain = Chain::builder(vec![a.clone() as Arc<dyn Provider>], &no_cache())
        .clock(clock.clone())
        .jitter(Arc::new(FixedJitter(-1.0)))
        .build()
        .unwrap();
    chain.complete(&ask("hi"), None).await.unwrap();
    assert_eq!(
        clock.sleeps(),
        [Duration::from_millis(750), Duration::from_millis(1_500)]
    );
}

#[tokio::test]
async fn retry_after_is_honoured_and_a_long_one_fails_over_at_once() {
    let a = Scripted::new("a", vec![err(LlmError::RateLimited(Some(7))), ok("waited")]);
    let (clock, chain) = chain_of(&[&a], &no_cache());
    assert_eq!(
        chain.complete(&ask("hi"), None).await.unwrap().content,
        "waited"
    );
    assert_eq!(clock.sleeps(), secs(&[7]));

    let a = Scripted::new("a", vec![err(LlmError::RateLimited(Some(3_600)))]);
    let b = Scripted::new("b", vec![ok("from b")]);
    let (clock, chain) = chain_of(&[&a, &b], &no_cache());
    assert_eq!(
        chain.complete(&ask("hi"), None).await.unwrap().content,
        "from b"
    );
    assert!(clock.sleeps().is_empty(), "{:?}", clock.sleeps());
    assert_eq!(a.calls(), 1);
}

#[tokio::test]
async fn spent_attempts_fail_over_in_order_and_the_final_error_names_each() {
    let a = Scripted::new("a", vec![transient(), transient(), transient()]);
    let b = Scripted::new("b", vec![err(LlmError::Auth("bad key".into()))]);
    let c = Scripted::new("c", vec![ok("from c")]);
    let (clock, chain) = chain_of(&[&a, &b, &c], &no_cache());
    assert_eq!(
        chain.complete(&ask("hi"), None).await.unwrap().content,
        "from c"
    );
    // `Auth` is not retried, only failed over.
    assert_eq!((a.calls(), b.calls(), c.calls()), (3, 1, 1));
    assert_eq!(clock.sleeps(), secs(&[1, 2]));

    let a = Scripted::new("a", vec![transient(), transient(), transient()]);
    let b = Scripted::new("b", vec![err(LlmError::Auth("bad key".into()))]);
    let (_, chain) = chain_of(&[&a, &b], &no_cache());
    let e = chain.complete(&ask("hi"), None).await.unwrap_err();
    assert_eq!(
        e,
        LlmError::Transient(
            "every LLM provider failed — a: transient LLM failure: 502 bad gateway; \
             b: the provider refused the credentials: bad key"
                .into()
        )
    );
}

#[tokio::test]
async fn request_errors_neither_retry_nor_fail_over() {
    for e in [
        LlmError::InvalidRequest("bad schema".into()),
        LlmError::ContextTooLong("300k tokens".into()),
        LlmError::Denied("no grant".into()),
    ] {
        let a = Scripted::new("a", vec![err(e.clone())]);
        let b = Scripted::new("b", vec![]);
        let (clock, chain) = chain_of(&[&a, &b], &no_cache());
        assert_eq!(chain.complete(&ask("hi"), None).await.unwrap_err(), e);
        assert_eq!((a.calls(), b.calls()), (1, 0));
        assert!(clock.sleeps().is_empty());
    }
}

#[test]
fn final_error_kinds() {
    let auth = || LlmError::Auth("k".into());
    let e = exhausted(vec![("a".into(), auth()), ("b".into(), auth())]);
    assert!(matches!(e, LlmError::Auth(_)), "{e}");
    let e = exhausted(vec![
        ("a".into(), auth()),
        ("b".into(), LlmError::Failed("trap".into())),
    ]);
    assert!(matches!(e, LlmError::Failed(_)), "{e}");
    let e = exhausted(vec![
        ("a".into(), LlmError::CircuitOpen("a".into())),
        ("b".into(), auth()),
    ]);
    assert!(matches!(e, LlmError::Transient(_)), "{e}");
    // One provider: its own error, kind and all.
    let e = exhausted(vec![("a".into(), LlmError::RateLimited(Some(90)))]);
    assert_eq!(e, LlmError::RateLimited(Some(90)));
}

#[tokio::test]
async fn the_breaker_opens_after_five_transient_failures_and_probes_after_thirty_seconds() {
    let a = Scripted::new("a", (0..5).map(|_| transient()).collect());
    let b = Scripted::new("b", vec![]);
    let (clock, chain) = chain_of(&[&a, &b], &no_cache());
    // Three failures, then b; two more open a's breaker mid-call: no pause
    // before a retry that would be refused, straight to b.
    chain.complete(&ask("1"), None).await.unwrap();
    chain.complete(&ask("2"), None).await.unwrap();
    assert_eq!((a.calls(), b.calls()), (5, 2));
    assert_eq!(clock.sleeps(), secs(&[1, 2, 1]));
    let status = chain.status();
    assert_eq!(status[0].breaker, BreakerState::Open);
    assert_eq!(status[0].consecutive_failures, 5);
    assert_eq!(status[0].probe_in_ms, Some(30_000));
    assert_eq!((status[0].calls, status[0].failures), (5, 5));
    assert_eq!(
        status[0].last_error.as_deref(),
        Some("transient LLM failure: 502 bad gateway")
    );
    assert_eq!(status[1].breaker, BreakerState::Closed);

    // Open: a is not touched.
    chain.complete(&ask("3"), None).await.unwrap();
    assert_eq!((a.calls(), b.calls()), (5, 3));
    // After 30 s a probe goes to a, succeeds and closes the breaker.
    clock.advance(Duration::from_secs(30));
    assert_eq!(
        chain.complete(&ask("4"), None).await.unwrap().content,
        "default"
    );
    assert_eq!((a.calls(), b.calls()), (6, 3));
    assert_eq!(chain.status()[0].breaker, BreakerState::Closed);

    let json = serde_json::to_value(chain.status()).unwrap();
    assert_eq!(json[0]["breaker"], "closed");
    assert_eq!(json[0]["name"], "a");
}

#[tokio::test]
async fn an_open_breaker_with_no_other_provider_fails_fast() {
    let a = Scripted::new("a", (0..6).map(|_| transient()).collect());
    let (clock, chain) = chain_of(&[&a], &no_cache());
    chain.complete(&ask("1"), None).await.unwrap_err();
    chain.complete(&ask("2"), None).await.unwrap_err();
    assert_eq!(a.calls(), 5);
    clock.advance(Duration::from_secs(10));
    let e = chain.complete(&ask("3"), None).await.unwrap_err();
    assert_eq!(e, LlmError::CircuitOpen("a (probing again in 20 s)".into()));
    assert_eq!(a.calls(), 5);
    // A failed probe opens it again.
    clock.advance(Duration::from_secs(20));
    chain.complete(&ask("4"), None).await.unwrap_err();
    assert_eq!(a.calls(), 6);
    assert_eq!(chain.status()[0].breaker, BreakerState::Open);
}

#[tokio::test]
async fn after_streamed_text_a_failure_is_returned_not_retried() {
    let a = Scripted::new(
        "a",
        vec![Step {
            chunks: vec!["Hel"],
            outcome: Err(LlmError::Transient("connection reset".into())),
        }],
    );
    let b = Scripted::new("b", vec![]);
    let (clock, chain) = chain_of(&[&a, &b], &no_cache());
    let (sink, seen) = recording_sink();
    let e = chain.complete(&ask("hi"), Some(sink)).await.unwrap_err();
    assert_eq!(e, LlmError::Transient("connection reset".into()));
    assert_eq!((a.calls(), b.calls()), (1, 0));
    assert!(clock.sleeps().is_empty());
    assert_eq!(*seen.lock().unwrap(), ["Hel"]);

    // Failing before any text (or with only empty chunks) is retried.
    let a = Scripted::new(
        "a",
        vec![
            Step {
                chunks: vec![""],
                outcome: Err(LlmError::Transient("reset".into())),
            },
            ok("Hello"),
        ],
    );
    let (_, chain) = chain_of(&[&a], &no_cache());
    let (sink, seen) = recording_sink();
    assert_eq!(
        chain
            .complete(&ask("hi"), Some(sink))
            .await
            .unwrap()
            .content,
        "Hello"
    );
    assert_eq!(*seen.lock().unwrap(), ["", "Hello"]);
}

#[tokio::test]
async fn tool_free_answers_are_cached_for_an_hour_and_streamed_whole() {
    let a = Scripted::new(
        "a",
        vec![ok("first"), ok("second"), ok("third"), ok("fourth")],
    );
    let (clock, chain) = chain_of(&[&a], &ResilienceConfig::default());
    assert_eq!(
        chain.complete(&ask("hi"), None).await.unwrap().content,
        "first"
    );
    let (sink, seen) = recording_sink();
    let hit = chain.complete(&ask("hi"), Some(sink)).await.unwrap();
    assert_eq!(hit.content, "first");
    assert_eq!(*seen.lock().unwrap(), ["first"]);
    assert_eq!(a.calls(), 1);
    // Another question misses.
    assert_eq!(
        chain.complete(&ask("other"), None).await.unwrap().content,
        "second"
    );
    // After the hour, asked again.
    clock.advance(Duration::from_secs(3_600));
    assert_eq!(
        chain.complete(&ask("hi"), None).await.unwrap().content,
        "third"
    );
    let stats = chain.cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 3));

    // Requests offering tools always go to the provider.
    let with_tools = CompletionRequest {
        tools: vec![ToolDefinition {
            name: "t".into(),
            description: String::new(),
            parameters_schema: "{}".into(),
        }],
        ..ask("tools")
    };
    chain.complete(&with_tools, None).await.unwrap();
    chain.complete(&with_tools, None).await.unwrap();
    assert_eq!(a.calls(), 5);
    // Disabled, nothing is cached.
    let b = Scripted::new("b", vec![]);
    let (_, uncached) = chain_of(&[&b], &no_cache());
    uncached.complete(&ask("hi"), None).await.unwrap();
    uncached.complete(&ask("hi"), None).await.unwrap();
    assert_eq!(b.calls(), 2);
    assert_eq!(uncached.cache_stats(), None);
}

async fn sqlite() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let db = Database::open_migrated(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    (dir, db)
}

#[tokio::test]
async fn usage_is_recorded_and_a_spent_budget_sends_nothing() {
    let (_dir, db) = sqlite().await;
    let clock = Arc::new(ManualClock::new(1_740_870_000_000));
    // Each answer: 1000 in × $2.5/M + 500 out × $10/M = $0.0075.
    let accounting = Arc::new(
        Accounting::new(db.llm_usage(), Pricing::new(&BTreeMap::new()), Some(0.01))
            .with_clock(clock.clone()),
    );
    let a = Scripted::new("a", vec![transient()]);
    let chain = Chain::builder(
        vec![a.clone() as Arc<dyn Provider>],
        &ResilienceConfig::default(),
    )
    .clock(clock.clone())
    .jitter(Arc::new(FixedJitter(0.0)))
    .accounting(accounting.clone())
    .build()
    .unwrap();
    chain.complete(&ask("one"), None).await.unwrap();
    chain.complete(&ask("two"), None).await.unwrap();
    assert_eq!(a.calls(), 3);
    let e = chain.complete(&ask("three"), None).await.unwrap_err();
    assert!(matches!(e, LlmError::BudgetExhausted(_)), "{e}");
    assert!(e.to_string().contains("$0.015000 spent today"), "{e}");
    assert_eq!(a.calls(), 3, "nothing sent");
    assert!(matches!(
        chain.embed(&["x".into()]).await,
        Err(LlmError::BudgetExhausted(_))
    ));
    // A cached answer sends nothing, so it is still served, at no cost.
    assert_eq!(
        chain.complete(&ask("one"), None).await.unwrap().content,
        "default"
    );
    assert_eq!(a.calls(), 3);

    let totals = db.llm_usage().totals_since(0).await.unwrap();
    assert_eq!((totals.calls, totals.cached_calls), (3, 1));
    assert_eq!(totals.cost_micro_usd, 15_000);
    assert_eq!(totals.input_tokens, 2_000);
    let by_model = db.llm_usage().totals_by_model_since(0).await.unwrap();
    assert_eq!(by_model.len(), 1);
    assert_eq!(by_model[0].model, "gpt-4o");
    // The next UTC day (an hour on) is a fresh budget.
    clock.advance(Duration::from_secs(3_600));
    chain.complete(&ask("three"), None).await.unwrap();
    assert_eq!(a.calls(), 4);
}

#[tokio::test]
async fn embeddings_retry_the_primary_but_never_fail_over() {
    let a = Scripted::new("a", vec![transient(), transient(), transient()]);
    let b = Scripted::new("b", vec![]);
    let (_, chain) = chain_of(&[&a, &b], &no_cache());
    let e = chain.embed(&["x".into()]).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert_eq!((a.calls(), b.calls()), (3, 0));
    assert_eq!(chain.embed(&["x".into()]).await.unwrap(), [vec![1.0]]);
}

#[test]
fn a_chain_needs_a_provider_and_a_valid_config() {
    assert!(Chain::new(vec![], &ResilienceConfig::default(), None).is_err());
    let a = Scripted::new("a", vec![]);
    let bad = ResilienceConfig {
        retry_attempts: 0,
        ..Default::default()
    };
    assert!(Chain::new(vec![a.clone() as Arc<dyn Provider>], &bad, None).is_err());
    let b = Scripted::new("b", vec![]);
    let chain = Chain::new(
        vec![a as Arc<dyn Provider>, b as Arc<dyn Provider>],
        &ResilienceConfig::default(),
        None,
    )
    .unwrap();
    assert_eq!(chain.name(), "chain:a,b");
}

#[tokio::test]
async fn describe_fails_over_and_names_every_provider() {
    let a = Scripted::new("a", vec![]);
    let b = Scripted::new("b", vec![]);
    let (_, chain) = chain_of(&[&a, &b], &no_cache());
    assert_eq!(
        chain.describe().await.unwrap_err(),
        LlmError::NotAvailable(
            "every LLM provider failed — a: no LLM available: a cannot describe; \
             b: no LLM available: b cannot describe"
                .into()
        )
    );
}
